"""Starting the bot: configuration from the environment, and a clear message when the token is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import discord
import pytest
import yarl
from pydantic import ValidationError

from bot.constants import BotSettings
from bot.endpoints import use_discord_endpoints

ROOT = Path(__file__).resolve().parents[2]


def test_without_a_token_the_bot_says_what_to_do_and_exits_2(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "DISCORD_TOKEN"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "DISCORD_TOKEN is not set" in result.stderr and "docs/discord-setup.md" in result.stderr


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
