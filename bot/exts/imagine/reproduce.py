"""/reproduce job:<id> [image:<n>] — make a stored job (or one of its images) again, pixel for pixel."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot


class Reproduce(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Make a past job again from its stored record (same seed, same pixels)")
    @app_commands.describe(job="The job id, as shown by /history or the ℹ️ button", image="Only this image (1-4)")
    async def reproduce(
        self, interaction: discord.Interaction, job: str, image: app_commands.Range[int, 1, 16] | None = None
    ) -> None:
        await self.bot.actions.reproduce(interaction, job.strip(), image)


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Reproduce(bot))
