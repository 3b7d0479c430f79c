"""/cancel [job] — stop one of your queued or running jobs (the newest one when no id is given)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot


class Cancel(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Cancel one of your queued or running jobs")
    @app_commands.describe(job="The job id; leave empty for your newest unfinished job")
    async def cancel(self, interaction: discord.Interaction, job: str | None = None) -> None:
        await self.bot.actions.cancel(interaction, job.strip() if job else None)


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Cancel(bot))
