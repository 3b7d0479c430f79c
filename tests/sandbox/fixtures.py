"""pytest fixture and helpers for running a real discord.py client against the emulator.

Use in a test module or conftest with `from tests.sandbox.fixtures import discord_emulator`
(or list this module in `pytest_plugins` of the root conftest).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import discord
import pytest_asyncio

from sandbox.discord import DiscordEmulator


@pytest_asyncio.fixture
async def discord_emulator() -> AsyncIterator[DiscordEmulator]:
    """A started emulator with discord.py pointed at it; everything is restored afterwards."""
    emu = DiscordEmulator()
    await emu.start()
    emu.point_discord_py()
    try:
        yield emu
    finally:
        await emu.stop()


@contextlib.asynccontextmanager
async def running_client(
    client: discord.Client, token: str, *, ready_timeout: float = 10.0
) -> AsyncIterator[discord.Client]:
    """Run `client` (login, setup_hook, gateway) with the emulator's bot `token` until the block ends.

    Construct the client with a small `guild_ready_timeout` (e.g. 0.1) so `on_ready` comes fast.
    Errors from the client's run surface here instead of dying silently in a task.
    """
    task = asyncio.create_task(client.start(token))
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
            raise AssertionError("discord client stopped before it became ready")
        if ready not in done:
            raise AssertionError(f"discord client was not ready after {ready_timeout}s")
        yield client
    finally:
        ready.cancel()
        await client.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=ready_timeout)
