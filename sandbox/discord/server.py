"""`DiscordEmulator`: a local Discord (REST + gateway) that the unmodified discord.py client talks to.

The sandbox serves it with a page that behaves like a channel (`sandbox.page`). Tests start it, point
discord.py at it with `point_discord_py()`, drive the bot by injecting slash commands and button
clicks, and assert on what the bot did: messages (with the real file bytes and every edit),
interaction responses, command syncs and the request log."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import discord
import yarl
from aiohttp import web

from .channels import NONCE_WINDOW_SECONDS
from .gateway import DIRECT_MESSAGES, GUILD_MESSAGES, Gateway
from .holds import Hold
from .messages import MessageBody, apply_body
from .payloads import interaction_payload, message_payload
from .rest import API_PREFIX, RestApi
from .state import (
    DEFAULT_ATTACHMENT_SIZE_LIMIT,
    EVERYONE_PERMISSIONS,
    MANAGE_MESSAGES,
    Attachment,
    Channel,
    CommandSync,
    Fault,
    Guild,
    Interaction,
    Message,
    RandomFaults,
    RequestRecord,
    Role,
    User,
    new_snowflake,
)

T = TypeVar("T")

_OPTION_TYPES = {bool: 5, int: 4, float: 10, str: 3, Attachment: 11}
# Component types in messages and modals.
ACTION_ROW, SELECT, TEXT_INPUT, LABEL = 1, 3, 4, 18
_RECHECK_INTERVAL = 0.05


class DiscordEmulator:
    def __init__(
        self,
        *,
        attachment_size_limit: int = DEFAULT_ATTACHMENT_SIZE_LIMIT,
        guild_name: str = "Emulated Guild",
        channel_name: str = "general",
        owner_name: str = "owner",
    ) -> None:
        self.attachment_size_limit = attachment_size_limit
        self.application_id = new_snowflake()
        self.bot_token = f"emulator.{secrets.token_urlsafe(24)}"
        self.bot_user = User(id=self.application_id, username="imagine-bot", bot=True)
        self.owner = User(id=new_snowflake(), username=owner_name)
        self.users: dict[int, User] = {}
        self.guilds: list[Guild] = []
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.interactions_by_token: dict[str, Interaction] = {}
        self.expired_tokens: set[str] = set()
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.command_syncs: list[CommandSync] = []
        self.requests: list[RequestRecord] = []
        self.faults: list[Fault] = []
        self.random_faults: RandomFaults | None = None
        self.holds: list[Hold] = []
        self.uploads: dict[int, Attachment] = {}
        """Files members attached to commands (`upload`), served like Discord's CDN."""
        self.listeners: list[Callable[[], None]] = []
        """Called after every request and gateway frame (the sandbox's page watches for changes)."""
        self._changed = asyncio.Event()
        self._gateway = Gateway(self)
        self._rest = RestApi(self)
        self._runner: web.AppRunner | None = None
        self._base = ""
        self._saved_discord_endpoints: tuple[str, yarl.URL] | None = None
        for user in (self.bot_user, self.owner):
            self.users[user.id] = user
        self.guild = self.make_guild(guild_name, channel_name=channel_name)
        self.channel = self.guild.channels[0]
        self.user = self.make_user("alice")

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self, *, host: str = "127.0.0.1", port: int = 0, routes: Sequence[web.RouteDef] = ()) -> None:
        """Listen on `host`:`port` (a free port by default). `routes` are served beside Discord's, on the same
        port (the sandbox's page, under `/` and `/sandbox/`)."""
        app = web.Application(middlewares=[self._rest.middleware], client_max_size=1024**3)
        app.add_routes(self._rest.routes())
        app.add_routes([web.get("/gateway", self._gateway.handle), *routes])
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        listener = socket.create_server((host, port))
        await web.SockSite(self._runner, listener).start()
        self._base = f"http://{host}:{listener.getsockname()[1]}"

    async def stop(self) -> None:
        for hold in self.holds:
            hold.release()
        self.restore_discord_py()
        await self._gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def point_discord_py(self) -> None:
        """Send discord.py's REST and gateway traffic here (undone by `restore_discord_py`/`stop`)."""
        if self._saved_discord_endpoints is None:
            self._saved_discord_endpoints = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

    def restore_discord_py(self) -> None:
        if self._saved_discord_endpoints is not None:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._saved_discord_endpoints
            self._saved_discord_endpoints = None

    @property
    def bot_connected(self) -> bool:
        """A bot has identified on the gateway (and so finished its start-up)."""
        return self._gateway.connected

    @property
    def base_url(self) -> str:
        return self._base

    @property
    def api_base(self) -> str:
        return f"{self._base}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self._base.removeprefix('http://')}/gateway"

    # --- world building --------------------------------------------------------------------

    def make_user(self, username: str, *, guild: Guild | None = None, roles: Sequence[Role] = ()) -> User:
        """A user who is a member of `guild` (default guild unless given) with `roles`."""
        user = User(id=new_snowflake(), username=username)
        self.users[user.id] = user
        (guild or self.guild).member_roles[user.id] = [role.id for role in roles]
        return user

    def make_guild(self, name: str, *, channel_name: str = "general") -> Guild:
        guild = Guild(id=new_snowflake(), name=name, owner_id=self.owner.id)
        guild.roles.append(Role(id=guild.id, name="@everyone", permissions=EVERYONE_PERMISSIONS))
        guild.member_roles[self.bot_user.id] = []
        guild.member_roles[self.owner.id] = []
        self.guilds.append(guild)
        self.make_channel(channel_name, guild=guild)
        return guild

    def make_channel(self, name: str, *, guild: Guild | None = None, nsfw: bool = False) -> Channel:
        """A text channel; `nsfw` makes it one of Discord's age-restricted channels."""
        guild = guild or self.guild
        channel = Channel(id=new_snowflake(), name=name, guild_id=guild.id, nsfw=nsfw)
        guild.channels.append(channel)
        self.channels[channel.id] = channel
        return channel

    def dm_channel(self, user: User) -> Channel:
        """The direct-message channel between `user` and the bot (made on first use)."""
        existing = next(
            (c for c in self.channels.values() if c.recipient is not None and c.recipient.id == user.id), None
        )
        if existing is not None:
            return existing
        channel = Channel(id=new_snowflake(), name=f"dm-{user.username}", guild_id=None, recipient=user)
        self.channels[channel.id] = channel
        return channel

    def make_role(self, name: str, *, guild: Guild | None = None, permissions: int = 0) -> Role:
        role = Role(id=new_snowflake(), name=name, permissions=permissions)
        (guild or self.guild).roles.append(role)
        return role

    # --- records ---------------------------------------------------------------------------

    def new_message(self, channel: Channel, *, interaction_id: int | None = None) -> Message:
        """A blank bot message, not yet stored: callers fill it in and then store it."""
        return Message(
            id=new_snowflake(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=self.bot_user,
            webhook_id=self.application_id if interaction_id else None,
            interaction_id=interaction_id,
        )

    def post_message(self, channel: Channel, body: MessageBody, *, interaction_id: int | None = None) -> Message:
        """Create the bot's message from a request body; nothing is stored if the body is refused."""
        message = self.new_message(channel, interaction_id=interaction_id)
        apply_body(message, body, creating=True)
        nonce = body.payload.get("nonce")
        message.nonce = str(nonce) if nonce is not None else None
        self.messages[message.id] = message
        return message

    def message_with_nonce(self, channel: Channel, nonce: str) -> Message | None:
        """The bot's message in `channel` posted with `nonce` within Discord's nonce window."""
        recent = time.monotonic() - NONCE_WINDOW_SECONDS
        matching = (m for m in self.messages.values() if m.channel_id == channel.id and m.nonce == nonce)
        return next((m for m in matching if m.posted_at > recent), None)

    def message_json(self, message: Message) -> dict[str, Any]:
        return message_payload(message, self._base, self.application_id)

    def messages_in(self, channel: Channel | None = None, *, include_deleted: bool = False) -> list[Message]:
        """Messages in `channel` (default channel unless given), oldest first, ephemeral ones included."""
        channel_id = (channel or self.channel).id
        return [m for m in self.messages.values() if m.channel_id == channel_id and (include_deleted or not m.deleted)]

    @property
    def interactions(self) -> list[Interaction]:
        """Every injected interaction, oldest first."""
        return list(self.interactions_by_token.values())

    def upload(self, filename: str, data: bytes, content_type: str = "image/png") -> Attachment:
        """A file a member attaches to a command (pass it as an option value); downloadable at its URL."""
        attachment = Attachment(id=new_snowflake(), filename=filename, data=data, content_type=content_type)
        self.uploads[attachment.id] = attachment
        return attachment

    def find_attachment(self, attachment_id: int) -> Attachment | None:
        if attachment_id in self.uploads:
            return self.uploads[attachment_id]
        for message in self.messages.values():
            for version in message.history:
                for attachment in version.attachments:
                    if attachment.id == attachment_id:
                        return attachment
        return None

    def requests_matching(self, pattern: str) -> list[RequestRecord]:
        """Logged requests whose `"METHOD /path"` (path without /api/v10) matches the regex."""
        compiled = re.compile(pattern)
        return [r for r in self.requests if compiled.search(f"{r.method} {r.path}")]

    # --- fault injection -------------------------------------------------------------------

    async def delete_message(self, message: Message, *, by: User | None = None) -> None:
        """A moderator deletes the bot's `message` in Discord's app (`by` needs Manage Messages there, as on
        Discord); the bot hears of it as of its own deletions (`announce_deletion`)."""
        guild = next((g for g in self.guilds if g.id == message.guild_id), None)
        if by is not None and guild is not None and not guild.permissions_of(by.id) & MANAGE_MESSAGES:
            raise ValueError(f"{by.username} lacks Manage Messages: Discord would not let them delete it")
        message.deleted = True
        await self.announce_deletion(message)
        self.notify()

    async def announce_deletion(self, message: Message) -> None:
        """MESSAGE_DELETE, which Discord sends whoever deleted the message (the bot too) and which does not say
        who did; only if the bot asked for the messages intent of that kind of channel (guild or DM). Ephemeral
        messages are nobody's to hear of."""
        if message.ephemeral:
            return
        data = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        intent = GUILD_MESSAGES if message.guild_id is not None else DIRECT_MESSAGES
        await self._gateway.dispatch("MESSAGE_DELETE", data, intent=intent)

    def fail_next(self, route_pattern: str, *, status: int = 429, count: int = 1, retry_after: float = 0.05) -> Fault:
        """Answer the next `count` requests whose `"METHOD /path"` matches the regex with `status`.

        429s carry `Retry-After`, `X-RateLimit-*`, `Via` and the JSON body discord.py retries on;
        500/502/504 are retried by discord.py after about a second.
        """
        fault = Fault(pattern=re.compile(route_pattern), status=status, remaining=count, retry_after=retry_after)
        self.faults.append(fault)
        return fault

    def fail_randomly(self, rate: float, *, statuses: Sequence[int] = (429, 500, 502), seed: int = 0) -> None:
        """From now on answer a share `rate` of all REST requests with one of `statuses` (seeded, repeatable)."""
        self.random_faults = RandomFaults(rate, tuple(statuses), random.Random(seed))

    def stop_failing_randomly(self) -> None:
        self.random_faults = None

    def hold(
        self, route_pattern: str, *, applied: bool, body_matches: Callable[[MessageBody], bool] | None = None
    ) -> Hold:
        """Keep the bot's matching channel-message requests waiting until `release()`: before Discord acts
        on them (`applied=False`; dropped when released) or after (`applied=True`; the answer never arrives).
        A test kills the bot while one is held, to stop it at that exact point."""
        hold = Hold(re.compile(route_pattern), applied, body_matches)
        self.holds.append(hold)
        return hold

    def expire_token(self, token: str) -> None:
        """Every later call with this interaction token fails with 401 / code 50027, as after 15 min."""
        self.expired_tokens.add(token)

    # --- driving the bot -------------------------------------------------------------------

    async def send_slash_command(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: User | None = None,
        channel: Channel | None = None,
        guild: Guild | None = None,
        attachment_size_limit: int | None = None,
    ) -> Interaction:
        """Inject an application-command INTERACTION_CREATE as `user` typed `/name options…`; in a DM channel
        (`dm_channel`) it comes from outside any server, and only global commands exist there."""
        if channel is not None and channel.recipient is not None:
            guild = None
        else:
            guild = guild or self.guild
            channel = channel or guild.channels[0]
        command, command_guild_id = self._synced_command(name, guild)
        declared = {option["name"]: option.get("type") for option in command.get("options", [])}
        attachments = [value for value in (options or {}).values() if isinstance(value, Attachment)]
        data: dict[str, Any] = {
            "id": command.get("id", str(new_snowflake())),
            "name": name,
            "type": 1,
            "options": [
                {
                    "name": key,
                    "type": declared.get(key) or _OPTION_TYPES[type(value)],
                    "value": str(value.id) if isinstance(value, Attachment) else value,
                }
                for key, value in (options or {}).items()
            ],
        }
        if command_guild_id is not None:
            data["guild_id"] = str(command_guild_id)
        return await self._inject(
            2, data, user, channel, guild, attachment_size_limit, source_message=None, attachments=attachments
        )

    async def click_button(
        self,
        message: Message,
        custom_id: str,
        *,
        user: User | None = None,
        attachment_size_limit: int | None = None,
        forged: bool = False,
    ) -> Interaction:
        """Inject a button-press INTERACTION_CREATE on `message`, which must carry that `custom_id` unless
        `forged`: a modified client sending an id the message does not have (the payload still carries the
        message as Discord has it)."""
        if custom_id not in message.custom_ids() and not forged:
            raise ValueError(f"message {message.id} has no button {custom_id!r}; it has {message.custom_ids()}")
        if message.deleted:
            raise ValueError(f"message {message.id} was deleted; nobody can click its buttons")
        channel = self.channels[message.channel_id]
        guild = next((g for g in self.guilds if g.id == channel.guild_id), None)
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._inject(3, data, user, channel, guild, attachment_size_limit, source_message=message)

    async def choose(
        self, message: Message, custom_id: str, values: Sequence[str], *, user: User | None = None
    ) -> Interaction:
        """Inject a select-menu choice on `message` (component type 3), as `user` picked `values`."""
        if custom_id not in message.custom_ids():
            raise ValueError(f"message {message.id} has no select {custom_id!r}; it has {message.custom_ids()}")
        channel = self.channels[message.channel_id]
        guild = next((g for g in self.guilds if g.id == channel.guild_id), None)
        data = {"custom_id": custom_id, "component_type": SELECT, "values": list(values)}
        return await self._inject(3, data, user, channel, guild, None, source_message=message)

    async def submit_modal(
        self, opened_by: Interaction, values: dict[str, str | Sequence[str]], *, user: User | None = None
    ) -> Interaction:
        """Inject the MODAL_SUBMIT (type 5) of the modal the bot opened in answer to `opened_by`, with `values` by
        component custom_id (text for a text input, a list for a select). Fields left out are sent as the
        modal pre-filled them; an unknown field is a test's mistake."""
        modal = opened_by.modal
        if modal is None:
            raise ValueError(f"interaction {opened_by.id} was not answered with a modal")
        known = {child.get("custom_id") for child in _modal_fields(modal)}
        if unknown := set(values) - known:
            raise ValueError(f"the modal has no field {sorted(unknown)}; it has {sorted(known)}")
        data = {"custom_id": modal["custom_id"], "components": [_submitted(row, values) for row in modal["components"]]}
        return await self._inject(
            5,
            data,
            user or opened_by.user,
            opened_by.channel,
            opened_by.guild,
            None,
            source_message=opened_by.source_message,
        )

    def _synced_command(self, name: str, guild: Guild | None) -> tuple[dict[str, Any], int | None]:
        for guild_id in (guild.id, None) if guild else (None,):
            for command in self.commands.get(guild_id, []):
                if command["name"] == name:
                    return command, guild_id
        return {}, None

    async def _inject(
        self,
        kind: int,
        data: dict[str, Any],
        user: User | None,
        channel: Channel,
        guild: Guild | None,
        attachment_size_limit: int | None,
        *,
        source_message: Message | None,
        attachments: Sequence[Attachment] = (),
    ) -> Interaction:
        await self.wait_for(lambda: self._gateway.connected, timeout=10, what="a bot connected to the gateway")
        interaction = Interaction(
            id=new_snowflake(),
            token=f"interaction.{secrets.token_urlsafe(32)}",
            type=kind,
            user=user or channel.recipient or self.user,
            channel=channel,
            guild=guild,
            data=data,
            attachment_size_limit=attachment_size_limit or self.attachment_size_limit,
            source_message=source_message,
            attachments=list(attachments),
        )
        self.interactions_by_token[interaction.token] = interaction
        await self._gateway.dispatch(
            "INTERACTION_CREATE", interaction_payload(interaction, self.application_id, self._base)
        )
        return interaction

    # --- waiting ---------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake `wait_for` callers and listeners; called after every request and gateway frame."""
        self._changed.set()
        self._changed = asyncio.Event()
        for listener in self.listeners:
            listener()

    async def wait_for(self, predicate: Callable[[], T], *, timeout: float = 60.0, what: str = "") -> T:
        """Return the first truthy `predicate()`; fail with a readable AssertionError after `timeout`.

        The predicate is re-checked after every request and gateway frame, and at least every
        50 ms, so it may also look at state the bot changes without talking to Discord. The default
        ceiling is generous: it only keeps a broken test from hanging, on a loaded machine too.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := predicate()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, _RECHECK_INTERVAL))
        return result


def _modal_fields(modal: dict[str, Any]) -> list[dict[str, Any]]:
    """The inputs of a modal: text inputs in action rows, and the component of each label."""
    fields = []
    for row in modal.get("components", []):
        if row.get("type") == ACTION_ROW:
            fields += row.get("components", [])
        elif row.get("type") == LABEL and "component" in row:
            fields.append(row["component"])
    return fields


def _submitted_field(field: dict[str, Any], values: dict[str, str | Sequence[str]]) -> dict[str, Any]:
    custom_id = field.get("custom_id")
    if field.get("type") == TEXT_INPUT:
        value = values.get(custom_id, field.get("value") or "")
        if field.get("required", True) and not value:
            raise ValueError(f"the modal's field {custom_id!r} is required")
        if not isinstance(value, str):
            raise ValueError(f"the modal's field {custom_id!r} takes text")
        if value and not field.get("min_length", 0) <= len(value) <= field.get("max_length", 4000):
            raise ValueError(f"Discord would not let {len(value)} characters into {custom_id!r}")
        return {"type": TEXT_INPUT, "custom_id": custom_id, "value": value}
    chosen = list(
        values.get(custom_id, [option["value"] for option in field.get("options", []) if option.get("default")])
    )
    low, high = field.get("min_values", 1), field.get("max_values", 1)
    if not low <= len(chosen) <= high:
        raise ValueError(f"Discord would not let {len(chosen)} choices into {custom_id!r} ({low} to {high})")
    offered = {option.get("value") for option in field.get("options", [])}
    if field.get("type") == SELECT and not set(chosen) <= offered:
        raise ValueError(f"{sorted(set(chosen) - offered)} are not among the options of {custom_id!r}")
    return {"type": field.get("type"), "custom_id": custom_id, "values": chosen}


def _submitted(row: dict[str, Any], values: dict[str, str | Sequence[str]]) -> dict[str, Any]:
    """What Discord sends back for one top-level component of a modal."""
    if row.get("type") == ACTION_ROW:
        return {"type": ACTION_ROW, "components": [_submitted_field(field, values) for field in row["components"]]}
    if row.get("type") == LABEL:
        return {"type": LABEL, "component": _submitted_field(row["component"], values)}
    return {"type": row.get("type")}
