"""How fast `/imagine` is acknowledged when many people fire it at the same moment.

Discord drops an interaction that is not acknowledged within 3 seconds, so this is the latency
that decides whether a user sees "the application did not respond". It runs the real bot
(discord.py client, JobService, the warm engine generating in the background) against the
Discord emulator in tests/discord_emulator, which is a development-only package: without it
the measurement reports why it was skipped.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
import time
from pathlib import Path

from bench.workload import percentiles
from engine.engine import Engine

ACK_TIMEOUT = 120.0  # a ceiling so a broken bot ends the run; no figure depends on it
DISCORD_ACK_DEADLINE_S = 3.0


def _unavailable() -> str | None:
    try:
        import bot.client  # noqa: F401
        import tests.discord_emulator  # noqa: F401
    except ImportError as error:
        return f"needs bot/ and tests/discord_emulator/ ({error})"
    return None


async def imagine_ack_latency(engine, *, users: int = 50, prompt: str = "a lighthouse at dusk") -> dict:
    """Seconds from each user's INTERACTION_CREATE to the bot's acknowledgement (the deferral), and to
    the private "Queued as job" reply, which comes after the job's row is committed."""
    reason = _unavailable()
    if reason:
        return {"measured": False, "reason": reason}
    from bot.client import ImagineBot
    from bot.constants import BotSettings
    from jobs import JobService, JobSettings
    from tests.discord_emulator import DiscordEmulator
    from tests.discord_emulator.fixtures import running_client

    with tempfile.TemporaryDirectory(prefix="bench-discord-") as folder:
        data_dir = Path(folder)
        emu = DiscordEmulator()
        await emu.start()
        emu.point_discord_py()
        try:
            jobs = JobService(
                JobSettings(_env_file=None, database_url=f"sqlite:///{data_dir / 'bench.db'}", data_dir=data_dir,
                            engine_devices=(str(engine.device),), max_queue_length=users + 1, stop_timeout=0),
                engine_factory=functools.partial(Engine, engine.settings),
            )
            settings = BotSettings(_env_file=None, discord_token=emu.bot_token, guild_ids=[emu.guild.id],
                                   channel_upload_limit=emu.attachment_size_limit)
            bot = ImagineBot(settings, jobs, guild_ready_timeout=0.1)
            async with running_client(bot, emu, ready_timeout=60):

                async def fire(user) -> tuple[float, float]:
                    start = time.perf_counter()
                    interaction = await emu.send_slash_command("imagine", {"prompt": prompt}, user=user)
                    await emu.wait_for(lambda: interaction.acknowledged, timeout=ACK_TIMEOUT,
                                       what="the /imagine acknowledgement")
                    acknowledged = time.perf_counter() - start
                    await emu.wait_for(lambda: interaction.followups, timeout=ACK_TIMEOUT,
                                       what="the 'Queued as job' reply")
                    return acknowledged, time.perf_counter() - start

                await fire(emu.user)
                # The engine process starts with the service; the burst measures a warm bot, not torch's import.
                await emu.wait_for(lambda: any(message.attachments for message in emu.messages_in()),
                                   timeout=ACK_TIMEOUT, what="the warm-up job's grid")
                people = [emu.make_user(f"user{number}") for number in range(users)]
                latencies = await asyncio.gather(*(fire(person) for person in people))
        finally:
            await emu.stop()
    acks = [ack for ack, _ in latencies]
    return {"measured": True, "users": users, "ack_latency_s": percentiles(acks),
            "queued_reply_latency_s": percentiles([queued for _, queued in latencies]),
            "acks_over_3s_deadline": sum(ack > DISCORD_ACK_DEADLINE_S for ack in acks)}
