"""The sandbox: the real bot, its queue and its engine, connected to a local Discord, with a page in the browser.

`python -m bot` (and `make run`) start it when no DISCORD_TOKEN is set, or with SANDBOX=1. Everything the
bot does is what it does on Discord — the same discord.py client, commands, buttons, queue, database and
engine — only the server it talks to is `sandbox.discord`, on 127.0.0.1 unless the operator says
otherwise, and the members are simulated ones a person switches between on the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.client import ImagineBot
from bot.constants import BotSettings
from bot.endpoints import use_discord_endpoints
from engine.settings import EngineSettings
from jobs import JobService, JobSettings
from jobs.logs import LogSettings, log_json_lines
from sandbox.discord import DiscordEmulator
from sandbox.page import SandboxPage

log = logging.getLogger(__name__)

READY_TIMEOUT = 600.0  # the first start builds the engine process and loads the model
MEMBERS = ("alice", "bob", "carol")


class SandboxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    sandbox: bool = False
    """Start the sandbox even though DISCORD_TOKEN is set."""
    sandbox_host: str = "127.0.0.1"
    """Where the page and the local Discord listen; only this machine can reach the default."""
    sandbox_port: int = Field(default=8765, ge=0, le=65535)


def sandbox_jobs_settings() -> JobSettings:
    """The queue's settings, with the history kept apart from a real server's: DATA_DIR/sandbox (unless
    DATABASE_URL names a database)."""
    settings = JobSettings()
    if settings.database_url is None:
        settings = settings.model_copy(update={"data_dir": settings.data_dir / "sandbox"})
    return settings


class Sandbox:
    def __init__(
        self,
        settings: SandboxSettings,
        jobs: JobService,
        *,
        bot_settings: BotSettings | None = None,
        engine_settings: EngineSettings | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.emu = DiscordEmulator(guild_name="Sandbox", channel_name="imagine", owner_name="admin")
        self.members = [self.emu.user, *(self.emu.make_user(name) for name in MEMBERS[1:]), self.emu.owner]
        self.page = SandboxPage(self.emu, self.members)
        self._bot_settings = bot_settings or BotSettings()
        self._engine_settings = engine_settings
        self.bot: ImagineBot | None = None
        self._running: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return self.emu.base_url + "/"

    async def start(self) -> str:
        """Serve the local Discord and the page, start the bot against it; returns the page's address once the
        bot is ready."""
        emu = self.emu
        await emu.start(host=self.settings.sandbox_host, port=self.settings.sandbox_port, routes=self.page.routes())
        use_discord_endpoints(emu.api_base, emu.gateway_url)
        settings = self._bot_settings.model_copy(
            update={
                "discord_token": None,
                "guild_ids": [emu.guild.id],
                "channel_upload_limit": emu.attachment_size_limit,
            }
        )
        self.bot = ImagineBot(settings, self.jobs, engine_settings=self._engine_settings, guild_ready_timeout=0.1)
        self._running = asyncio.create_task(self.bot.start(emu.bot_token))
        ready = asyncio.create_task(self.bot.wait_until_ready())
        done, _ = await asyncio.wait({self._running, ready}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if self._running in done:
            ready.cancel()
            self._running.result()  # the bot's own error, e.g. a model that cannot be downloaded
        if ready not in done:
            raise TimeoutError(f"the bot was not ready after {READY_TIMEOUT:.0f} s")
        return self.url

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.close()
        if self._running is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._running
        await self.emu.stop()
        use_discord_endpoints(None, None)

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


def run(settings: SandboxSettings, engine_settings: EngineSettings) -> int:
    """`python -m bot` without a token: start the sandbox, say where it is, stop cleanly on Ctrl-C."""
    if LogSettings().log_format == "json":
        log_json_lines(logging.WARNING)
    else:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for ours in ("bot", "jobs", "engine", "sandbox"):
        logging.getLogger(ours).setLevel(logging.INFO)
    logging.getLogger("discord").setLevel(logging.ERROR)  # "voice will NOT be supported": the bot has no voice
    jobs_settings = sandbox_jobs_settings()
    print("Starting the imagine-bot sandbox (the real bot, a local Discord, no account needed)...", flush=True)
    asyncio.run(_serve(settings, engine_settings, jobs_settings))
    return 0


async def _serve(settings: SandboxSettings, engine_settings: EngineSettings, jobs_settings: JobSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sandbox = Sandbox(settings, JobService(jobs_settings), engine_settings=engine_settings)
    try:
        url = await sandbox.start()
        models = ", ".join(entry.name for entry in engine_settings.registry().entries)
        default = engine_settings.registry().get(None).label
        print(f"\n  Sandbox: {url}", flush=True)
        print(f"  Models:  {models} (default: {default})", flush=True)
        print(f"  Data:    {Path(jobs_settings.data_dir).resolve()}", flush=True)
        print("\nOpen the address above in a browser. Press Ctrl-C to stop.", flush=True)
        await stop.wait()
        print("Stopping...", flush=True)
    finally:
        await sandbox.stop()
