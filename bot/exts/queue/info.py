"""/info — the queue, where your jobs stand in it, the model and the devices."""

from __future__ import annotations

import time

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from bot.private_replies import info_content


class Info(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Queue length, your jobs' places, model, devices and uptime")
    async def info(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        stats = await self.bot.jobs.stats()
        uptime = time.monotonic() - self.bot.started_at
        await interaction.followup.send(
            info_content(stats, interaction.user.id, uptime, self.bot.models), ephemeral=True
        )


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Info(bot))
