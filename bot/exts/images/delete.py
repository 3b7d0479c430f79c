"""Deleting images: 🗑️ under a grid or an image, and a job's message deleted in Discord itself.

🗑️ may be pressed by the job's owner (as the database says, not the button), the member a copy was made for
(U1–U4 by someone else), or a server moderator (an admin, or anyone with Manage Messages in the channel). When
that is the job's owner, or a moderator of the server the job was made in, the job is hidden for good (no /show,
/reproduce or buttons) and its files are removed unless KEEP_DELETED_IMAGES; someone who only separated a copy of
another member's image removes just that message.

Only the bot and members with Manage Messages can delete the bot's messages in a server, so a job's own message
(its grid or image, not a /show repost or a copy) deleted in Discord was deleted by a moderator, unless the bot
deleted it itself (`bot.own_deletions`): a queued or running job is cancelled, a finished one hidden as 🗑️ does.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.client import ImagineBot
from bot.custom_ids import DELETE, PersistentButton, job_shown_in
from bot.errors import UserFacingError, guarded
from bot.own_deletions import DELETED_IN_DISCORD

log = logging.getLogger(__name__)


class DeleteButton(PersistentButton, spec=DELETE):
    owner: int
    """Whom the message was made for. Only trusted for a copy (which the database knows nothing of): the base
    refuses an id that is not on the message, so this one is the bot's own."""

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.response.defer()
        bot = interaction.client
        job_id = job_shown_in(interaction.message)
        job = await bot.jobs.get_job(job_id) if job_id else None
        is_moderator = await bot.rules.is_moderator(interaction)
        # The job's own message is its owner's; a copy is the member's it was made for.
        owner = job.user_id if job is not None and job.message_id == interaction.message.id else self.owner
        owns_job = job is not None and interaction.user.id == job.user_id
        if not (owns_job or is_moderator or interaction.user.id == owner):
            raise UserFacingError(f"Only <@{owner}> or a server admin can delete this.")
        hides = job is not None and (owns_job or (is_moderator and job.guild_id == interaction.guild_id))
        if hides:
            await bot.jobs.hide(job.public_id, by=interaction.user.id)
            log.info("job %s deleted by %s", job.public_id, interaction.user.id)
        await bot.own_deletions.delete(interaction.message)
        if hides:
            await interaction.followup.send(
                f"Deleted job `{job.public_id}`: it can no longer be shown, reproduced or used.", ephemeral=True
            )


class DeletedMessages(commands.Cog):
    """The messages intent tells the bot when a message is deleted, never by whom: one the bot deleted itself is
    left alone; otherwise a job still waiting or running for it is cancelled (its owner would never see it) and a
    finished one is hidden, as a moderator's 🗑️ would. `hidden_by` is then DELETED_IN_DISCORD."""

    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_raw_message_delete(self, event: discord.RawMessageDeleteEvent) -> None:
        await self._deleted(event.message_id)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, event: discord.RawBulkMessageDeleteEvent) -> None:
        for message_id in event.message_ids:
            await self._deleted(message_id)

    async def _deleted(self, message_id: int) -> None:
        if self.bot.own_deletions.claim(message_id):
            return
        job = await self.bot.jobs.job_with_message(message_id)  # the job's own message only, never a repost
        if job is None or job.hidden_at is not None:
            return
        if not job.is_finished and await self.bot.jobs.cancel(job.public_id, job.user_id):
            log.info("job %s cancelled: its message %s was deleted", job.public_id, message_id)
            return
        # Finished (perhaps just now, so that it could no longer be cancelled): gone for good, as with 🗑️.
        await self.bot.jobs.hide(job.public_id, by=DELETED_IN_DISCORD)
        log.info("job %s deleted: its message %s was deleted in Discord", job.public_id, message_id)


async def setup(bot: ImagineBot) -> None:
    bot.add_dynamic_items(DeleteButton)
    await bot.add_cog(DeletedMessages(bot))


async def teardown(bot: ImagineBot) -> None:
    bot.remove_dynamic_items(DeleteButton)
