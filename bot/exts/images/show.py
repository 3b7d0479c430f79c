"""/show job:<id> — post a finished job again, with live buttons, as Midjourney's /show does."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from bot.errors import UserFacingError, public_answer
from bot.job_lookup import check_images_kept
from jobs import JobStatus


class Show(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Post a finished job again, with its buttons")
    @app_commands.describe(job="The job id, as shown by /history")
    async def show(self, interaction: discord.Interaction, job: str) -> None:
        async with public_answer(interaction):
            stored = await self.bot.rules.job_for(interaction, job, posting=True)
            if stored.status is not JobStatus.SUCCEEDED or (stored.grid_path is None and not stored.suggestions):
                raise UserFacingError(f"Job `{stored.public_id}` is {stored.status}; only finished jobs can be shown.")
            if not stored.suggestions:  # a /describe's are in the database, not in pruned files
                check_images_kept(stored)
            shown = await self.bot.delivery.finished_message(stored, interaction.filesize_limit, shown_in=interaction)
            await interaction.followup.send(
                shown.content,
                files=[shown.upload.to_file()] if shown.upload else [],
                view=shown.layout.view() if shown.layout else discord.utils.MISSING,
                allowed_mentions=discord.AllowedMentions.none(),  # a repost never pings its creator again
            )


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Show(bot))
