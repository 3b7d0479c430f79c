"""Driving the bot through the emulator the way a user would, and finding what it answered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from sandbox.discord import Channel, DiscordEmulator, Interaction, Message, User

GENERATION_TIMEOUT = 180.0  # a shared 2-core machine; the tiny model itself needs about a second
# The ceiling on waiting for the bot to answer a command or a press (database writes, reading and encoding images):
# milliseconds when idle, but a loaded 2-core CI machine can pause this process (a full garbage collection of the
# test process's heap alone takes 0.3-0.8 s) and delay SQLite's fsyncs. Only a broken test ever reaches it: no
# assertion depends on it (the acknowledgement time is asserted in test_responsiveness).
ANSWER_TIMEOUT = 60.0


def finished_messages(emu: DiscordEmulator, channel: Channel | None = None) -> list[Message]:
    """Channel messages (not interaction replies) that carry an image and buttons."""
    return [
        message
        for message in emu.messages_in(channel)
        if message.interaction_id is None and message.attachments and message.custom_ids()
    ]


async def wait_for_new_result(emu: DiscordEmulator, before: int, what: str, channel: Channel | None = None) -> Message:
    """The first finished message after the `before` ones already there."""
    return await emu.wait_for(
        lambda: len(finished_messages(emu, channel)) > before and finished_messages(emu, channel)[before],
        timeout=GENERATION_TIMEOUT,
        what=what,
    )


async def imagine(
    emu: DiscordEmulator, prompt: str, *, user: User | None = None, channel: Channel | None = None
) -> Message:
    """Run /imagine (in `channel`, default the first server's first) and return the channel message once it
    holds the finished grid."""
    before = len(finished_messages(emu, channel))
    guild = next((guild for guild in emu.guilds if channel in guild.channels), None) if channel else None
    await emu.send_slash_command("imagine", {"prompt": prompt}, user=user, channel=channel, guild=guild)
    return await wait_for_new_result(emu, before, f"the grid for {prompt!r}", channel)


async def reply_to(emu: DiscordEmulator, interaction: Interaction, what: str) -> Message:
    """What the bot answered: the interaction's first followup, else its original response."""

    def answer() -> Message | None:
        original = interaction.original
        # A deferred button press (type 6) leaves its message as it was: the answer is then a followup.
        shown = original is not None and not original.loading and original is not interaction.source_message
        return (interaction.followups[:1] or [None])[0] or (original if shown else None)

    return await emu.wait_for(answer, timeout=ANSWER_TIMEOUT, what=what)


def job_id_of(message: Message) -> str:
    return message.custom_ids()[0].split(":")[2]


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = GENERATION_TIMEOUT) -> None:
    """Until `check()` (which may ask the database) holds; the ceiling only keeps a broken test from hanging."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
