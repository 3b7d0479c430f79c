"""How fast `/imagine` is acknowledged when many people fire it at the same moment.

Discord drops an interaction that is not acknowledged within 3 seconds, so this is the latency
that decides whether a user sees "the application did not respond". It runs the real bot
(discord.py client, JobService, the warm engine generating in the background) against the
Discord emulator in sandbox/discord, which is a development-only package: without it
the measurement reports why it was skipped.

The emulator runs in a process of its own, as Discord's servers do: in the bot's process its
gateway and HTTP handling would land on the bot's event loop and be counted as the bot's latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.workload import percentiles
from engine.engine import Engine

ACK_TIMEOUT = 120.0  # a ceiling so a broken bot ends the run; no figure depends on it
DISCORD_ACK_DEADLINE_S = 3.0
BOT_READY = "ready"


@dataclass(frozen=True)
class Endpoints:
    """What the bot's process needs to reach the emulator's process."""

    api_base: str
    gateway_url: str
    bot_token: str
    guild_id: int
    attachment_size_limit: int


def _unavailable() -> str | None:
    try:
        import bot.client  # noqa: F401
        import sandbox.discord  # noqa: F401
    except ImportError as error:
        return f"needs bot/ and sandbox/discord/ ({error})"
    return None


async def imagine_ack_latency(
    engine, *, users: int = 50, prompt: str = "a lighthouse at dusk", job_settings: dict[str, object] | None = None
) -> dict:
    """Seconds from each user's INTERACTION_CREATE to the bot's acknowledgement (the deferral), and to
    the private "Queued as job" reply, which comes after the job's row is committed. `job_settings`: JobSettings
    fields that differ from the defaults (`engine_backend="ray"`: the bot attached to a cluster)."""
    reason = _unavailable()
    if reason:
        return {"measured": False, "reason": reason}
    context = multiprocessing.get_context("spawn")
    here, there = context.Pipe()
    emulator = context.Process(target=_emulator_process, args=(there, users, prompt), name="discord-emulator")
    emulator.start()
    try:
        endpoints = await _receive(here)
        with tempfile.TemporaryDirectory(prefix="bench-discord-") as folder:
            latencies = await _run_bot(engine, endpoints, here, Path(folder), users, job_settings or {})
    finally:
        emulator.join(timeout=10)
        if emulator.is_alive():
            emulator.kill()
    acks, queued = latencies
    return {
        "measured": True,
        "users": users,
        "ack_latency_s": percentiles(acks),
        "queued_reply_latency_s": percentiles(queued),
        "acks_over_3s_deadline": sum(ack > DISCORD_ACK_DEADLINE_S for ack in acks),
    }


async def _receive(connection):
    """The other process's next message, without blocking the event loop; its exception re-raised."""
    ready = await asyncio.get_running_loop().run_in_executor(None, connection.poll, ACK_TIMEOUT)
    if not ready:
        raise TimeoutError(f"the emulator's process sent nothing for {ACK_TIMEOUT}s")
    message = connection.recv()
    if isinstance(message, BaseException):
        raise message
    return message


async def _run_bot(
    engine, endpoints: Endpoints, connection, data_dir: Path, users: int, job_settings: dict[str, object]
):
    import discord
    import yarl

    from bot.client import ImagineBot
    from bot.constants import BotSettings
    from jobs import JobService, JobSettings
    from tests.sandbox.fixtures import running_client

    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = endpoints.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(endpoints.gateway_url)
    try:
        jobs = JobService(
            JobSettings(
                _env_file=None,
                database_url=f"sqlite:///{data_dir / 'bench.db'}",
                data_dir=data_dir,
                engine_devices=(str(engine.device),),
                max_queue_length=users + 1,
                stop_timeout=0,
                **job_settings,
            ),
            engine_factory=functools.partial(Engine, engine.settings),
        )
        settings = BotSettings(
            _env_file=None,
            discord_token=endpoints.bot_token,
            guild_ids=[endpoints.guild_id],
            channel_upload_limit=endpoints.attachment_size_limit,
        )
        bot = ImagineBot(settings, jobs, guild_ready_timeout=0.1)
        async with running_client(bot, endpoints.bot_token, ready_timeout=60):
            connection.send(BOT_READY)
            return await _receive(connection)
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved


def _emulator_process(connection, users: int, prompt: str) -> None:
    try:
        asyncio.run(_drive_emulator(connection, users, prompt))
    except Exception as error:
        connection.send(error)


async def _drive_emulator(connection, users: int, prompt: str) -> None:
    from sandbox.discord import DiscordEmulator

    emu = DiscordEmulator()
    await emu.start()
    try:
        connection.send(
            Endpoints(emu.api_base, emu.gateway_url, emu.bot_token, emu.guild.id, emu.attachment_size_limit)
        )
        if await _receive(connection) != BOT_READY:
            raise RuntimeError("the bot's process did not report ready")
        await _burst(emu, [emu.user], prompt)
        # The engine process starts with the service; the burst measures a warm bot, not torch's import.
        await emu.wait_for(
            lambda: any(message.attachments for message in emu.messages_in()),
            timeout=ACK_TIMEOUT,
            what="the warm-up job's grid",
        )
        interactions = await _burst(emu, [emu.make_user(f"user{number}") for number in range(users)], prompt)
        connection.send(
            (
                [i.acknowledged_at - i.created_at for i in interactions],
                [i.first_followup_at - i.created_at for i in interactions],
            )
        )
    finally:
        with contextlib.suppress(Exception):
            await emu.stop()


async def _burst(emu, people, prompt: str) -> list:
    """Everyone fires /imagine at once; returns the interactions once all are answered.

    Latencies come from the emulator's own timestamps (creation → callback, → first followup), and
    one waiter watches the whole burst, so measuring adds no work per user.
    """
    interactions = await asyncio.gather(
        *(emu.send_slash_command("imagine", {"prompt": prompt}, user=person) for person in people)
    )
    await emu.wait_for(
        lambda: all(interaction.acknowledged for interaction in interactions),
        timeout=ACK_TIMEOUT,
        what="the /imagine acknowledgements",
    )
    await emu.wait_for(
        lambda: all(interaction.followups for interaction in interactions),
        timeout=ACK_TIMEOUT,
        what="the 'Queued as job' replies",
    )
    return interactions
