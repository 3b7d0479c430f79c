"""The bot's numbers for Prometheus (docs/operations.md), in a registry of its own beside the queue's
(`jobs.metrics`), so that several bots can run in one process (the tests do).

Acknowledgement latency is measured on discord.py's own HTTP session (an aiohttp trace, discord.py's
`http_trace` option): from an interaction's creation, which its snowflake id carries, to Discord accepting
the bot's first response to it, so no command has to remember to report it. Refusals are counted when
`bot.errors.report` announces one (the bot's `refusal` event), by a short reason code and the command or
button, never by the member's text.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import aiohttp
import discord
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest

from bot.custom_ids import PREFIX
from jobs import JobService

# An interaction's response: the first (and only) call to this endpoint for the interaction.
CALLBACK_PATH = re.compile(r"/interactions/(?P<id>[0-9]+)/[^/]+/callback$")
# Discord drops an interaction that is not answered within 3 s.
ACK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 5, 10)


def action_of(interaction: discord.Interaction) -> str:
    """The slash command, or the button's action (`imagine:<action>:…`): a small fixed set, fit for a label."""
    if interaction.command is not None:
        return interaction.command.qualified_name
    parts = str((interaction.data or {}).get("custom_id", "")).split(":")
    return parts[1] if len(parts) > 2 and parts[0] == PREFIX else "other"


class BotMetrics:
    """The registry `/metrics` shows: the process, the queue (registered on `jobs`), and the bot's own."""

    def __init__(self, jobs: JobService) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        jobs.register_metrics(self.registry)
        self.acknowledgements = Histogram(
            "imagine_interaction_ack_seconds",
            "From an interaction's creation on Discord to Discord accepting the bot's first response.",
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.refusals = Counter(
            "imagine_refusals",
            "Private refusals and error replies, by reason and by command or button.",
            ["reason", "action"],
            registry=self.registry,
        )
        self.http_trace = aiohttp.TraceConfig()
        self.http_trace.on_request_end.append(self._on_request_end)

    async def on_refusal(self, interaction: discord.Interaction, reason: str) -> None:
        """The bot's `refusal` event (`bot.errors.report`)."""
        self.refusals.labels(reason, action_of(interaction)).inc()

    async def _on_request_end(
        self, _session: aiohttp.ClientSession, _context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        match = CALLBACK_PATH.search(params.url.path)
        if match is None or params.response.status >= 300:  # a refused attempt is retried, or fails the command
            return
        created = discord.utils.snowflake_time(int(match["id"]))
        # The two clocks are Discord's and this host's: NTP keeps them close; a skew never makes it negative.
        self.acknowledgements.observe(max((discord.utils.utcnow() - created).total_seconds(), 0.0))

    def exposition(self) -> bytes:
        """Everything in Prometheus' text format; reads the database, so call it off the event loop."""
        return generate_latest(self.registry)
