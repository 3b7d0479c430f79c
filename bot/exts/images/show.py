"""/show job:<id> — post a finished job again, with buttons that work."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot


class Show(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Post a finished job again, with its buttons")
    @app_commands.describe(job="The job id, as shown by /history")
    async def show(self, interaction: discord.Interaction, job: str) -> None:
        await self.bot.actions.show(interaction, job.strip())


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Show(bot))
