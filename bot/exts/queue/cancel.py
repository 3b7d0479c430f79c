"""/cancel [job] — stop one of your queued or running jobs (the newest one when no id is given)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from bot.errors import UserFacingError
from bot.job_lookup import find_job

# How far back /cancel without an id looks for your newest unfinished job.
RECENT_JOBS = 50


class Cancel(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Cancel one of your queued or running jobs")
    @app_commands.describe(job="The job id; leave empty for your newest unfinished job")
    async def cancel(self, interaction: discord.Interaction, job: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        user_id = interaction.user.id
        job_id = job.strip() if job else await self._newest_unfinished(user_id)
        stored = await find_job(self.bot.jobs, job_id)
        if stored.user_id != user_id:
            raise UserFacingError(f"Job `{job_id}` belongs to <@{stored.user_id}>; you can only cancel your own.")
        if stored.is_finished:
            raise UserFacingError(f"Job `{job_id}` has already ended ({stored.status}).")
        if not await self.bot.jobs.cancel(job_id, user_id):
            raise UserFacingError(f"Job `{job_id}` could not be cancelled; it may have just finished.")
        await interaction.followup.send(f"Cancelled job `{job_id}`.", ephemeral=True)

    async def _newest_unfinished(self, user_id: int) -> str:
        pending = [job for job in await self.bot.jobs.recent_jobs(user_id, limit=RECENT_JOBS) if not job.is_finished]
        if not pending:
            raise UserFacingError("You have no queued or running jobs to cancel.")
        return pending[0].public_id


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Cancel(bot))
