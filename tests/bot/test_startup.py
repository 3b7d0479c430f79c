"""Starting the bot: configuration from the environment, and the sandbox when there is no token."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import discord
import pytest
import yarl
from pydantic import ValidationError

from bot.constants import BotSettings
from bot.endpoints import use_discord_endpoints

ROOT = Path(__file__).resolve().parents[2]


def test_without_a_token_the_bot_starts_its_sandbox_says_where_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("DISCORD_TOKEN", "MODEL_ID", "MODELS")}
    env |= {"PYTHONPATH": str(ROOT), "SANDBOX_PORT": "0", "DEFAULT_STEPS": "2", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C to stop" in line:
                break
        printed = "".join(lines)
        [url] = re.findall(r"Sandbox: (http://127\.0\.0\.1:\d+/)", printed)
        with urllib.request.urlopen(url, timeout=30) as page:
            assert "imagine-bot sandbox" in page.read().decode()
        assert "No DISCORD_TOKEN is set" in printed and "docs/discord-setup.md" in printed
        assert "Models:  default (default: the embedded default model)" in printed
        assert f"Data:    {tmp_path / 'data' / 'sandbox'}" in printed
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=120)
    assert process.returncode == 0, rest
    for noise in ("Loading pipeline", "requires torchvision", "PyNaCl", "Traceback"):
        assert noise not in printed + rest


def test_guild_ids_accept_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUILD_IDS", "123, 456")
    assert BotSettings(_env_file=None).guild_ids == [123, 456]
    monkeypatch.setenv("GUILD_IDS", "general")
    with pytest.raises(ValidationError, match="comma-separated numeric guild ids"):
        BotSettings(_env_file=None)


def test_endpoints_point_the_client_elsewhere_and_back() -> None:
    before = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        use_discord_endpoints("http://127.0.0.1:9/api/v10/", "ws://127.0.0.1:9/gateway")
        assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
        assert yarl.URL("ws://127.0.0.1:9/gateway") == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        use_discord_endpoints(None, None)
        assert discord.http.Route.BASE == "https://discord.com/api/v10"
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = before
