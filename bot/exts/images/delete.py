"""Deleting images: 🗑️ under a grid or an image, and a job's message deleted in Discord itself.

🗑️ may be pressed by the member the message was made for, or a server admin. When that is the job's
owner, or an admin of the server the job was made in, the job is hidden for good (no /show, /reproduce
or buttons) and its files are removed unless KEEP_DELETED_IMAGES; someone who only separated a copy of
another member's image removes just that message. Deleting the message of a queued or running job
(anyone with Discord's Manage Messages can) cancels the job.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.client import ImagineBot
from bot.custom_ids import DELETE, PersistentButton, job_shown_in
from bot.errors import UserFacingError, guarded

log = logging.getLogger(__name__)


class DeleteButton(PersistentButton, spec=DELETE):
    owner: int

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.response.defer()
        bot = interaction.client
        is_admin = await bot.rules.is_admin(interaction)
        if interaction.user.id != self.owner and not is_admin:
            raise UserFacingError(f"Only <@{self.owner}> or a server admin can delete this.")
        job_id = job_shown_in(interaction.message)
        job = await bot.jobs.get_job(job_id) if job_id else None
        hides = job is not None and (
            interaction.user.id == job.user_id or (is_admin and job.guild_id == interaction.guild_id)
        )
        if hides:
            await bot.jobs.hide(job.public_id, by=interaction.user.id)
            log.info("job %s deleted by %s", job.public_id, interaction.user.id)
        await interaction.message.delete()
        if hides:
            await interaction.followup.send(
                f"Deleted job `{job.public_id}`: it can no longer be shown, reproduced or used.", ephemeral=True
            )


class DeletedMessages(commands.Cog):
    """The messages intent tells the bot when a message is deleted; a job still waiting or running for it
    is cancelled (its owner would never see it)."""

    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_raw_message_delete(self, event: discord.RawMessageDeleteEvent) -> None:
        await self._cancel_job_of(event.message_id)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, event: discord.RawBulkMessageDeleteEvent) -> None:
        for message_id in event.message_ids:
            await self._cancel_job_of(message_id)

    async def _cancel_job_of(self, message_id: int) -> None:
        job = await self.bot.jobs.job_with_message(message_id)
        if job is not None and not job.is_finished and await self.bot.jobs.cancel(job.public_id, job.user_id):
            log.info("job %s cancelled: its message %s was deleted", job.public_id, message_id)


async def setup(bot: ImagineBot) -> None:
    bot.add_dynamic_items(DeleteButton)
    await bot.add_cog(DeletedMessages(bot))


async def teardown(bot: ImagineBot) -> None:
    bot.remove_dynamic_items(DeleteButton)
