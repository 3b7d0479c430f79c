"""/history — your recent jobs with their ids, privately."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from bot.private_replies import history_content

HISTORY_LENGTH = 10


class History(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Your recent jobs and their ids")
    async def history(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        jobs = await self.bot.jobs.recent_jobs(interaction.user.id, limit=HISTORY_LENGTH)
        await interaction.followup.send(history_content(jobs, await _dm_channel_id(interaction.user)), ephemeral=True)


async def _dm_channel_id(user: discord.abc.User) -> int | None:
    """The member's DMs with the bot, where private results lie (None if Discord will not open them)."""
    try:
        return (user.dm_channel or await user.create_dm()).id
    except discord.HTTPException:
        return None


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(History(bot))
