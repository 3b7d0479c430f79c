"""Per-guild rules (allowed channels, banned words) and who counts as an admin."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import discord

from bot.errors import UserFacingError
from jobs.views import GuildConfigView

if TYPE_CHECKING:
    from bot.client import ImagineBot


async def check_channel_allowed(bot: ImagineBot, interaction: discord.Interaction) -> GuildConfigView | None:
    """Refuse when the guild limits generation to other channels; returns the guild's config."""
    if interaction.guild_id is None:
        return None
    config = await bot.jobs.guild_config(interaction.guild_id)
    if config.allowed_channel_ids and interaction.channel_id not in config.allowed_channel_ids:
        channels = ", ".join(f"<#{channel_id}>" for channel_id in config.allowed_channel_ids)
        raise UserFacingError(f"Images can't be made in this channel on this server; use {channels}.")
    return config


def banned_words_in(prompt: str, banned_words: tuple[str, ...]) -> list[str]:
    """Whole-word, case-insensitive matches, so banning "ass" leaves "class" alone."""
    return [
        word
        for word in banned_words
        if word.strip() and re.search(rf"(?<!\w){re.escape(word.strip())}(?!\w)", prompt, re.IGNORECASE)
    ]


def check_prompt_allowed(config: GuildConfigView | None, prompt: str) -> None:
    if config is None:
        return
    found = banned_words_in(prompt, config.banned_words)
    if found:
        raise UserFacingError(f"This server doesn't allow these words in prompts: {', '.join(found)}.")


async def is_admin(bot: ImagineBot, interaction: discord.Interaction) -> bool:
    """The server owner, or a member with the admin role (set by /config or ADMIN_ROLE_ID)."""
    guild = interaction.guild
    if guild is None or not isinstance(interaction.user, discord.Member):
        return False
    if guild.owner_id == interaction.user.id:
        return True
    config = await bot.jobs.guild_config(guild.id)
    admin_roles = {role_id for role_id in (config.admin_role_id, bot.settings.admin_role_id) if role_id}
    return any(role.id in admin_roles for role in interaction.user.roles)
