"""`ImagineBot`: the discord.py client and the container of what the features share.

Features (`bot/exts/<area>/<feature>.py`) are found and loaded at start-up, never imported here, so
they may import this module; each gets the shared helpers from the bot it is given.
"""

from __future__ import annotations

import logging
import pkgutil
import time

import discord
from discord import app_commands
from discord.ext import commands

from bot import exts
from bot.constants import BotSettings
from bot.cooldowns import Cooldowns
from bot.delivery import Delivery
from bot.gate import Gate, admit
from bot.image_prompts import ImagePrompts
from bot.launch import JobLauncher
from bot.member_settings import MemberSettings
from bot.metrics import BotMetrics
from bot.monitoring import Monitoring
from bot.own_deletions import OwnDeletions
from bot.rules import ServerRules
from bot.uploads import ImageEncoder
from engine.budgets import largest_image
from engine.settings import EngineSettings
from jobs import JobService

log = logging.getLogger(__name__)

# Applied by discord.py to every message the bot sends or edits: the person a job is for is
# mentioned; @everyone and role mentions typed into prompts stay inert.
ALLOWED_MENTIONS = discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False)


def walk_extensions() -> list[str]:
    """Every module under bot.exts that defines `setup`: one feature per file, found, not listed."""
    return [module.name for module in pkgutil.walk_packages(exts.__path__, f"{exts.__name__}.") if not module.ispkg]


class ImagineTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Every slash command passes the gate (DMs, cooldowns) first."""
        return await admit(interaction)


class ImagineBot(commands.Bot):
    """Slash commands and buttons only, so no privileged intent (not even message content) is needed. The
    messages intent brings MESSAGE_DELETE, so a moderator deleting a job's message cancels or hides the job; no
    message is cached."""

    def __init__(
        self, settings: BotSettings, jobs: JobService, *, engine_settings: EngineSettings | None = None, **options
    ) -> None:
        # Operators' metrics (docs/operations.md), off unless METRICS_PORT is set; acknowledgements are timed
        # on discord.py's own HTTP session, whose trace is given here.
        metrics = BotMetrics(jobs) if settings.metrics_port else None
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents(guilds=True, guild_messages=True, dm_messages=settings.allow_dms),
            max_messages=None,
            allowed_mentions=ALLOWED_MENTIONS,
            tree_cls=ImagineTree,
            # Registered for servers only unless the operator allows DMs (Discord hides them elsewhere).
            allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=settings.allow_dms),
            http_trace=metrics.http_trace if metrics else None,
            **options,
        )
        self.settings = settings
        self.jobs = jobs
        # The operator's model registry and pixel budgets, read from the same settings as the engine's.
        self.limits = engine_settings or EngineSettings()
        self.models = self.limits.registry()
        largest = largest_image(self.limits.max_pixels, self.limits.upscale_budget)
        self.encoder = ImageEncoder(largest, settings.encode_concurrency)
        self.member_settings = MemberSettings(jobs)
        self.delivery = Delivery(
            jobs,
            self.get_partial_messageable,
            settings,
            self.encoder,
            self.limits.upscale_budget,
            self.member_settings,
        )
        self.rules = ServerRules(
            jobs, self.member_settings, settings.admin_role_id, dm_banned_words=tuple(settings.dm_banned_words)
        )
        # What the bot deletes itself, told apart from what moderators delete (`bot.own_deletions`).
        self.own_deletions = OwnDeletions()
        self.gate = Gate(Cooldowns(settings.cooldowns()), allow_dms=settings.allow_dms)
        self.launcher = JobLauncher(
            jobs, self.delivery, self.rules, self.member_settings, self.models, self.limits.upscale_budget
        )
        self.image_prompts = ImagePrompts(
            jobs.settings.data_dir / "sources",
            self.encoder,
            max_bytes=settings.image_prompt_max_bytes,
            timeout=settings.image_fetch_timeout,
            private_addresses=settings.image_fetch_private_addresses,
        )
        self.started_at = time.monotonic()
        self.monitoring = (
            Monitoring(self, jobs, metrics, host=settings.metrics_host, port=settings.metrics_port) if metrics else None
        )

    async def setup_hook(self) -> None:
        if self.monitoring is not None:  # first, so that /health answers during a long start-up
            await self.monitoring.start()
        await self.jobs.start()
        for extension in walk_extensions():
            await self.load_extension(extension)
        await self.sync_commands()
        resumed = await self.delivery.resume_undelivered()
        if resumed:
            log.info("Delivering %d jobs whose final message is not on Discord yet", resumed)

    async def sync_commands(self) -> None:
        """To the configured guilds (instant), else globally (Discord may take up to an hour)."""
        if not self.settings.guild_ids:
            await self.tree.sync()
            return
        for guild_id in self.settings.guild_ids:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)

    async def close(self) -> None:
        await self.delivery.stop()
        await self.image_prompts.close()
        await super().close()
        await self.jobs.stop()
        if self.monitoring is not None:
            await self.monitoring.stop()
