"""Operators can see the bot: `/metrics` reports a finished job, its latencies, acknowledgements and refusals;
`/health` tells a supervisor whether the bot is connected and its devices work."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.client import ImagineBot
from bot.constants import BotSettings
from bot.monitoring import Health
from jobs.states import DeviceState
from sandbox.discord import DiscordEmulator
from tests.bot.helpers import GENERATION_TIMEOUT, imagine, reply_to

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def bot_settings(bot_settings: BotSettings) -> BotSettings:
    return bot_settings.model_copy(update={"metrics_port": free_port()})


async def get(bot: ImagineBot, path: str) -> tuple[int, str]:
    url = f"http://{bot.settings.metrics_host}:{bot.settings.metrics_port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def scrape(bot: ImagineBot) -> Samples:
    status, text = await get(bot, "/metrics")
    assert status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape_until(bot: ImagineBot, name: str, what: str) -> Samples:
    """The finished grid is on Discord a moment before the bot records its delivery."""
    deadline = time.monotonic() + GENERATION_TIMEOUT
    while True:
        samples = await scrape(bot)
        if value(samples, name) >= 1:
            return samples
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def health(bot: ImagineBot) -> tuple[int, dict[str, Any]]:
    status, text = await get(bot, "/health")
    return status, json.loads(text)


async def test_the_metrics_endpoint_reports_a_finished_job(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    await imagine(emu, "a red circle")
    ok = {"status": "ok", "discord": "connected", "devices": {"cpu": "ready"}, "problems": []}
    assert await health(bot) == (200, ok)

    samples = await scrape_until(bot, "imagine_job_delivery_seconds_count", "the job's delivery")
    assert value(samples, "imagine_jobs", state="succeeded") == 1
    assert value(samples, "imagine_queue_length") == 0
    assert value(samples, "imagine_jobs_undelivered") == 0
    for stage in ("wait", "generation", "delivery"):
        assert value(samples, f"imagine_job_{stage}_seconds_count") == 1
    assert value(samples, "imagine_interaction_ack_seconds_count") >= 1
    assert value(samples, "imagine_device_busy_seconds_total", device="cpu") > 0
    assert value(samples, "imagine_device_ready", device="cpu") == 1
    assert value(samples, "imagine_images_stored") == 4
    assert value(samples, "imagine_disk_free_bytes") > 0

    refused = await emu.send_slash_command("imagine", {"prompt": "a fox --ar wide"})
    assert (await reply_to(emu, refused, "the flag error")).ephemeral
    samples = await scrape(bot)
    assert value(samples, "imagine_refusals_total", reason="bad_flag", action="imagine") == 1
    assert value(samples, "imagine_interaction_ack_seconds_count") >= 2


async def test_health_is_unavailable_until_the_bot_is_connected(bot_settings: BotSettings, make_jobs) -> None:
    jobs = make_jobs(process_jobs=False)
    bot = ImagineBot(bot_settings, jobs)
    await bot.monitoring.start()
    try:
        status, body = await health(bot)
    finally:
        await bot.monitoring.stop()
        await jobs.stop()
    assert status == 503
    assert body["status"] == "unavailable" and body["discord"] == "disconnected"
    assert body["problems"] == ["not connected to Discord"]


def test_a_failing_or_stopped_device_makes_the_bot_unhealthy() -> None:
    working = Health(True, {"cuda:0": DeviceState.READY, "cuda:1": DeviceState.STARTING})
    assert working.ok and working.body()["status"] == "ok"
    broken = Health(True, {"cuda:0": DeviceState.READY, "cuda:1": DeviceState.FAILING, "cpu": DeviceState.STOPPED})
    assert not broken.ok
    assert broken.body()["problems"] == ["device cuda:1 is failing", "device cpu is stopped"]
