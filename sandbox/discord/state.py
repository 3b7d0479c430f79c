"""What the emulated Discord knows: guilds, users, messages, interactions and what the bot did.

Everything a test may want to assert on lives here as plain dataclasses, so a test reads
`emu.messages_in(channel)` or `interaction.deferred` instead of digging through request logs.
"""

from __future__ import annotations

import itertools
import random
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1420070400000
DEFAULT_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

EPHEMERAL_FLAG = 1 << 6
LOADING_FLAG = 1 << 7

# Permission bits (Discord's), as far as the bot reads them.
ADMINISTRATOR = 1 << 3
MANAGE_MESSAGES = 1 << 13
ALL_PERMISSIONS = (1 << 50) - 1
# What a new server's @everyone may do: view, talk, attach, use commands; nothing that moderates.
EVERYONE_PERMISSIONS = (1 << 6) | (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31)

_sequence = itertools.count(1)


def new_snowflake() -> int:
    """Real-looking, strictly increasing ids, so discord.py's `created_at` maths keeps working."""
    return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(_sequence) & 0x3FFFFF)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class User:
    id: int
    username: str
    bot: bool = False


@dataclass
class Role:
    id: int
    name: str
    permissions: int = 0


GUILD_TEXT = 0
DIRECT_MESSAGE = 1


@dataclass
class Channel:
    id: int
    name: str
    guild_id: int | None
    nsfw: bool = False
    """Discord's age-restricted channels."""
    recipient: User | None = None
    """The member a DM channel is with (None for a server channel)."""

    @property
    def kind(self) -> int:
        return GUILD_TEXT if self.recipient is None else DIRECT_MESSAGE


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    channels: list[Channel] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    member_roles: dict[int, list[int]] = field(default_factory=dict)

    def permissions_of(self, user_id: int) -> int:
        """A member's permissions in the server (no channel overwrites here): the owner and Administrator have
        all of them, anyone else those of @everyone and of their roles together."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        roles = {self.id, *self.member_roles.get(user_id, [])}
        permissions = 0
        for role in self.roles:
            if role.id in roles:
                permissions |= role.permissions
        return ALL_PERMISSIONS if permissions & ADMINISTRATOR else permissions


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class MessageVersion:
    """One state of a message; `Message.history` keeps every version in order."""

    at: datetime
    content: str
    attachments: tuple[Attachment, ...]
    components: tuple[dict[str, Any], ...]
    embeds: tuple[dict[str, Any], ...]
    flags: int


@dataclass
class Message:
    id: int
    channel_id: int
    guild_id: int | None
    author: User
    content: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    embeds: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    created_at: datetime = field(default_factory=utc_now)
    edited_at: datetime | None = None
    deleted: bool = False
    webhook_id: int | None = None
    interaction_id: int | None = None
    nonce: str | None = None
    allowed_mentions: dict[str, Any] | None = None
    """As the bot sent it: who the message may notify (None: Discord's default, everyone it mentions)."""
    posted_at: float = field(default_factory=time.monotonic)
    history: list[MessageVersion] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL_FLAG)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING_FLAG)

    @property
    def edits(self) -> list[MessageVersion]:
        """Versions after the first one: what the bot changed, with timestamps."""
        return self.history[1:]

    def custom_ids(self) -> list[str]:
        return [
            item["custom_id"] for row in self.components for item in row.get("components", []) if "custom_id" in item
        ]

    def snapshot(self) -> None:
        self.history.append(
            MessageVersion(
                at=self.edited_at or self.created_at,
                content=self.content,
                attachments=tuple(self.attachments),
                components=tuple(self.components),
                embeds=tuple(self.embeds),
                flags=self.flags,
            )
        )


@dataclass
class Interaction:
    """An interaction the emulator injected, and everything the bot answered to it."""

    id: int
    token: str
    type: int
    user: User
    channel: Channel
    guild: Guild | None
    data: dict[str, Any]
    attachment_size_limit: int
    source_message: Message | None = None
    attachments: list[Attachment] = field(default_factory=list)
    """Files given as attachment options of a slash command (`data.resolved.attachments`)."""
    modal: dict[str, Any] | None = None
    """The modal the bot opened in answer (callback type 9): its custom_id, title and components."""
    callback_types: list[int] = field(default_factory=list)
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    defer_ephemeral: bool = False
    # time.perf_counter() readings, for latency measurements: Discord's 3 s clock runs from creation.
    created_at: float = field(default_factory=time.perf_counter)
    acknowledged_at: float | None = None
    first_followup_at: float | None = None

    @property
    def acknowledged(self) -> bool:
        return bool(self.callback_types)

    @property
    def deferred(self) -> bool:
        return any(kind in (5, 6) for kind in self.callback_types)

    @property
    def ephemeral(self) -> bool:
        return self.original is not None and self.original.ephemeral


@dataclass(frozen=True)
class CommandSync:
    """One PUT of a command list; `guild_id` is None for global commands."""

    guild_id: int | None
    commands: list[dict[str, Any]]
    at: datetime


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    status: int


@dataclass
class RandomFaults:
    """Answer a share of all requests with a random one of `statuses`, from a seeded generator."""

    rate: float
    statuses: tuple[int, ...]
    rng: random.Random
    retry_after: float = 0.05


@dataclass
class Fault:
    """An injected failure: the next `remaining` requests matching `pattern` get `status`."""

    pattern: re.Pattern[str]
    status: int
    remaining: int
    retry_after: float

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and self.pattern.search(f"{method} {path}") is not None
