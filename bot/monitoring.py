"""What operators and supervisors see of a running bot (docs/operations.md): `/metrics` for Prometheus and
`/health`, served by the bot's own event loop on METRICS_HOST:METRICS_PORT (127.0.0.1 unless configured).

`/health` answers 200 while the bot is connected to Discord and every device of its queue is ready or
starting its engine, and 503 otherwise, with the reasons, so a supervisor can tell "up" from "restart me".
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from discord.ext import commands
from prometheus_client import CONTENT_TYPE_LATEST

from bot.metrics import BotMetrics
from jobs import JobService
from jobs.states import DeviceState

log = logging.getLogger(__name__)

# A device in these states is working or about to; FAILING and STOPPED need a person (or a restart).
WORKING = frozenset({DeviceState.READY, DeviceState.STARTING})


@dataclass(frozen=True)
class Health:
    discord_connected: bool
    devices: dict[str, DeviceState]

    @property
    def problems(self) -> list[str]:
        problems = [] if self.discord_connected else ["not connected to Discord"]
        return problems + [f"device {name} is {state}" for name, state in self.devices.items() if state not in WORKING]

    @property
    def ok(self) -> bool:
        return not self.problems

    def body(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "unavailable",
            "discord": "connected" if self.discord_connected else "disconnected",
            "devices": {device: state.value for device, state in self.devices.items()},
            "problems": self.problems,
        }


def connected(bot: commands.Bot) -> bool:
    """Ready, and its gateway connection open (not closed, not between a drop and the reconnect)."""
    return bot.is_ready() and not bot.is_closed() and bot.ws is not None and bot.ws.open


class Monitoring:
    """The HTTP endpoints; `start()` at the beginning of the bot's start-up, so `/health` already answers
    (503) while migrations, model downloads and the first engine are under way."""

    def __init__(self, bot: commands.Bot, jobs: JobService, metrics: BotMetrics, *, host: str, port: int) -> None:
        self._bot = bot
        self._jobs = jobs
        self._metrics = metrics
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._bot.add_listener(self._metrics.on_refusal, "on_refusal")
        app = web.Application()
        app.router.add_get("/metrics", self._serve_metrics)
        app.router.add_get("/health", self._serve_health)
        self._runner = web.AppRunner(app, access_log=None)  # a scrape every 15 s would drown the bot's log
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("Metrics at http://%s:%d/metrics, health at /health", self._host, self._port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def health(self) -> Health:
        return Health(connected(self._bot), await self._jobs.device_states())

    async def _serve_metrics(self, _request: web.Request) -> web.Response:
        body = await asyncio.to_thread(self._metrics.exposition)  # COUNT queries: off the event loop
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _serve_health(self, _request: web.Request) -> web.Response:
        health = await self.health()
        return web.json_response(health.body(), status=200 if health.ok else 503)
