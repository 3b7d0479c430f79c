"""The bot end to end: the real discord.py client against the emulator, the real JobService
with the tiny default model on the CPU (2 steps, 64×64 images)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from bot.client import ImagineBot
from bot.constants import BotSettings
from engine.settings import EngineSettings
from jobs.service import JobService
from jobs.settings import JobSettings
from sandbox.discord import DiscordEmulator
from tests.sandbox.fixtures import discord_emulator, running_client

__all__ = ["discord_emulator"]  # re-exported: pytest finds fixtures by name in conftest


@pytest.fixture(scope="session")
def engine_settings() -> EngineSettings:
    """The embedded default model at 2 steps and 64 px, so a whole bot test runs in seconds."""
    return EngineSettings(_env_file=None, default_steps=2, max_pixels=64 * 64)


@pytest.fixture(scope="session")
def engine_factory(engine_settings: EngineSettings) -> Callable[[str], object]:
    import torch

    torch.set_num_threads(1)

    def build(device: str) -> object:
        from engine.engine import Engine

        return Engine(engine_settings, device=device)

    return build


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def make_jobs(data_dir: Path, engine_factory) -> Callable[..., JobService]:
    """A fresh JobService over the same database and images, as a restarted bot process would build."""

    def make(*, process_jobs: bool = True, **overrides) -> JobService:
        settings = JobSettings(_env_file=None, data_dir=data_dir, stop_timeout=0, **overrides)
        return JobService(settings, process_jobs=process_jobs, devices=["cpu"], engine_factory=engine_factory)

    return make


@pytest.fixture
def bot_settings(discord_emulator: DiscordEmulator) -> BotSettings:
    return BotSettings(
        _env_file=None,
        discord_token=discord_emulator.bot_token,
        guild_ids=[discord_emulator.guild.id],
        progress_edit_interval=0.0,
        channel_upload_limit=discord_emulator.attachment_size_limit,
        # Tests press faster than any member; the cooldown tests turn them on.
        cooldown_imagine=None,
        cooldown_show=None,
        cooldown_reproduce=None,
        cooldown_blend=None,
        cooldown_buttons=None,
    )


@pytest.fixture
def start_bot(discord_emulator: DiscordEmulator, bot_settings: BotSettings, engine_settings: EngineSettings, make_jobs):
    """`async with start_bot() as bot:` runs a bot until the block ends; call again to 'restart'."""

    @contextlib.asynccontextmanager
    async def start(
        *, jobs: JobService | None = None, limits: EngineSettings | None = None, **settings: object
    ) -> AsyncIterator[ImagineBot]:
        """`limits`: the bot's own reading of the engine settings (budgets, registry), when a test changes them;
        `settings`: BotSettings fields that differ from the test defaults (`allow_dms=True`)."""
        bot = ImagineBot(
            bot_settings.model_copy(update=settings),
            jobs or make_jobs(),
            engine_settings=limits or engine_settings,
            guild_ready_timeout=0.1,
        )
        async with running_client(bot, discord_emulator.bot_token, ready_timeout=60):
            yield bot

    return start


@pytest_asyncio.fixture
async def bot(start_bot) -> AsyncIterator[ImagineBot]:
    async with start_bot() as running:
        yield running
