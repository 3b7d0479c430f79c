"""/config — a server's rules: the channels images may be made in, banned words, the admin role, and what
happens to images the content filter flags (`bot.content_policy`)."""

from __future__ import annotations

import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from bot.errors import UserFacingError
from bot.private_replies import config_content
from jobs.states import ContentPolicy

EVERYWHERE = "all"
NOTHING = "none"
SNOWFLAKE = re.compile(r"[0-9]{15,20}")
POLICY_CHOICES = [
    app_commands.Choice(name="block: never show them", value=ContentPolicy.BLOCK.value),
    app_commands.Choice(name="spoiler: show them behind a spoiler", value=ContentPolicy.SPOILER.value),
    app_commands.Choice(
        name="age-restricted: only in age-restricted channels", value=ContentPolicy.AGE_RESTRICTED.value
    ),
]


class GuildConfig(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(name="config", description="Server rules for the image bot; with no options, shows them")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.describe(
        allowed_channels=f"Channels where images may be made (#mentions), or '{EVERYWHERE}'",
        banned_words=f"Comma-separated words refused in prompts, or '{NOTHING}'",
        admin_role="Members with this role may delete any image and change these rules",
        clear_admin_role="Remove the admin role",
        content_policy="What happens to images the content filter flags as unsafe",
    )
    @app_commands.choices(content_policy=POLICY_CHOICES)
    async def config(
        self,
        interaction: discord.Interaction,
        allowed_channels: str | None = None,
        banned_words: str | None = None,
        admin_role: discord.Role | None = None,
        clear_admin_role: bool = False,
        content_policy: str | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if not (interaction.permissions.manage_guild or await self.bot.rules.is_admin(interaction)):
            raise UserFacingError("Only members who can manage this server, or have its admin role, can change this.")
        changes: dict = {"clear_admin_role": clear_admin_role}
        if allowed_channels is not None:
            changes["allowed_channel_ids"] = await self._channels(interaction.guild, allowed_channels)
        if banned_words is not None:
            changes["banned_words"] = _words(banned_words)
        if admin_role is not None:
            changes["admin_role_id"] = admin_role.id
        if content_policy is not None:
            changes["content_policy"] = _policy(content_policy)
        config = await self.bot.jobs.set_guild_config(interaction.guild_id, **changes)
        await interaction.followup.send(config_content(config), ephemeral=True)

    async def _channels(self, guild: discord.Guild, text: str) -> list[int]:
        if text.strip().lower() == EVERYWHERE:
            return []
        ids = [int(match) for match in SNOWFLAKE.findall(text)]
        if not ids:
            raise UserFacingError(f"allowed_channels expects channel mentions like #images, or '{EVERYWHERE}'.")
        unknown = [channel_id for channel_id in ids if not await self._in_guild(guild, channel_id)]
        if unknown:
            raise UserFacingError(f"These are not channels of this server: {', '.join(map(str, unknown))}.")
        return ids

    async def _in_guild(self, guild: discord.Guild, channel_id: int) -> bool:
        """The cache first; a channel made since start-up may only be known to Discord."""
        if guild.get_channel(channel_id) is not None:
            return True
        try:
            channel = await self.bot.fetch_channel(channel_id)
        except (discord.NotFound, discord.Forbidden):
            return False
        return getattr(channel, "guild", None) is not None and channel.guild.id == guild.id


def _policy(value: str) -> ContentPolicy:
    try:
        return ContentPolicy(value)
    except ValueError:  # only a forged interaction sends a value that is not one of the choices
        raise UserFacingError(
            f"content_policy is one of: {', '.join(policy.value for policy in ContentPolicy)}."
        ) from None


def _words(text: str) -> list[str]:
    if text.strip().lower() == NOTHING:
        return []
    return [word.strip() for word in text.split(",") if word.strip()]


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(GuildConfig(bot))
