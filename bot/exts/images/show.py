"""/show job:<id> — post a finished job again, with live buttons, as Midjourney's /show does."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from bot.delivery import finished_message
from bot.errors import UserFacingError
from bot.job_lookup import find_job
from jobs import JobStatus


class Show(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Post a finished job again, with its buttons")
    @app_commands.describe(job="The job id, as shown by /history")
    async def show(self, interaction: discord.Interaction, job: str) -> None:
        stored = await find_job(self.bot.jobs, job.strip())
        if stored.status is not JobStatus.SUCCEEDED or stored.grid_path is None:
            raise UserFacingError(f"Job `{stored.public_id}` is {stored.status}; only finished jobs can be shown.")
        await interaction.response.defer(thinking=True)
        # reading and maybe re-encoding a large grid must not stall the event loop
        shown = await asyncio.to_thread(finished_message, stored, interaction.filesize_limit)
        await interaction.followup.send(
            shown.content, files=[shown.upload.to_file()] if shown.upload else [], view=shown.layout.view()
        )


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Show(bot))
