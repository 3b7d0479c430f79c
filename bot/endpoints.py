"""Point the unmodified discord.py client at a Discord-compatible server such as the test emulator."""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

DISCORD_API_BASE_URL = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"


def use_discord_endpoints(api_base_url: str | None, gateway_url: str | None) -> None:
    """Both are process-wide class attributes in discord.py; None restores Discord's own."""
    discord.http.Route.BASE = (api_base_url or DISCORD_API_BASE_URL).rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url or DISCORD_GATEWAY_URL)
