"""The bot as an operator runs it (`python -m bot`, its own process, its engine processes under it),
connected to the test's Discord emulator, so a test can kill it with SIGKILL at any moment and start
it again over the same database and images."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sandbox.discord import DiscordEmulator
from tests.paths import REPO_ROOT
from tests.processes import alive, descendants

START_TIMEOUT = 180.0  # imports, the engine process and its model, command sync; on a loaded 2-core machine


class BotProcess:
    def __init__(self, emu: DiscordEmulator, workdir: Path, database_url: str, **settings: str) -> None:
        self.emu = emu
        self.workdir = workdir  # no .env here: the environment below is the whole configuration
        self.env = {
            **{key: value for key, value in os.environ.items() if not key.startswith(("DISCORD_", "MODEL_"))},
            "DISCORD_TOKEN": emu.bot_token,
            "DISCORD_API_BASE_URL": emu.api_base,
            "DISCORD_GATEWAY_URL": emu.gateway_url,
            "GUILD_IDS": str(emu.guild.id),
            "DATA_DIR": str(workdir / "data"),
            "DATABASE_URL": database_url,
            "ENGINE_DEVICES": "cpu",
            "STOP_TIMEOUT": "0",
            "PROGRESS_EDIT_INTERVAL": "0.5",
            **{f"COOLDOWN_{action}": "off" for action in ("IMAGINE", "SHOW", "REPRODUCE", "BUTTONS")},
            "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(REPO_ROOT),
            **settings,
        }
        self.process: subprocess.Popen | None = None
        self.log = workdir / "bot.log"
        self.starts = 0

    async def start(self) -> None:
        """Start it and wait until it is connected: its start-up (recovery, delivery) has run by then."""
        await self.emu.wait_for(lambda: not self.emu.bot_connected, timeout=30, what="the old bot gone")
        self.starts += 1
        with self.log.open("a") as log:
            log.write(f"--- start {self.starts}\n")
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot"], cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        await self.emu.wait_for(
            lambda: self.emu.bot_connected or self.process.poll() is not None,
            timeout=START_TIMEOUT,
            what="the bot connected to the gateway",
        )
        assert self.process.poll() is None, f"the bot exited with {self.process.returncode}:\n{self.log_tail()}"

    async def kill(self) -> None:
        """SIGKILL, as an out-of-memory killer or a power cut would; then check nothing it started lives on."""
        children = descendants(self.process.pid)
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in children):
            assert time.monotonic() < deadline, f"processes outlived the killed bot: {children}"
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # Ctrl-C: discord.py closes the bot, which stops the queue
            try:
                await asyncio.to_thread(self.process.wait, 60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text().splitlines()[-lines:])
