"""What the commands and buttons do, in one place: submit a job and post its message, separate
an image, derive new jobs from stored images, show details, delete.

Buttons reach these through `interaction.client.actions`, which keeps `bot.components` free of
imports back into the rest of the bot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import discord

from bot import derive, messages, summaries
from bot.delivery import finished_message
from bot.errors import UserFacingError
from bot.layouts import image_view
from bot.permissions import check_channel_allowed, check_prompt_allowed, is_admin
from bot.uploads import UploadTooLarge, fit_file
from engine.flags import PromptDefaults, parse_prompt
from engine.request import Direction, GenerationRequest
from jobs.results import ImageRecord
from jobs.states import JobKind, JobStatus
from jobs.views import JobView

if TYPE_CHECKING:
    from bot.client import ImagineBot
    from jobs.service import JobService

log = logging.getLogger(__name__)


class JobActions:
    def __init__(self, bot: ImagineBot) -> None:
        self._bot = bot

    @property
    def _jobs(self) -> JobService:
        return self._bot.jobs

    async def launch(
        self,
        interaction: discord.Interaction,
        request: GenerationRequest,
        *,
        kind: JobKind,
        raw_prompt: str,
        parent: JobView | None = None,
        parent_index: int | None = None,
    ) -> JobView:
        """Submit, post the job's channel message, remember it on the job, deliver into it.

        The interaction must already be deferred ephemerally; the private reply names the job id.
        """
        user_id = interaction.user.id
        job = await self._jobs.submit(
            request,
            kind=kind,
            user_id=user_id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            raw_prompt=raw_prompt,
            parent_job=parent.public_id if parent else None,
            parent_index=parent_index,
        )
        channel = interaction.channel or self._bot.get_partial_messageable(interaction.channel_id)
        try:
            message = await self._bot.delivery.post(job, channel, upload_limit=interaction.filesize_limit)
        except discord.HTTPException as error:
            await self._jobs.cancel(job.public_id, user_id)
            await self._jobs.mark_delivered(job.public_id, f"could not post in channel {interaction.channel_id}")
            raise UserFacingError(
                f"I can't post in this channel ({error.text or error.status}); the job was cancelled. "
                "Ask a server admin to let me send messages and attach files here."
            ) from error
        warnings = "".join(f"\n⚠️ {warning}" for warning in request.warnings)
        receipt = messages.shorten(
            f"Queued as job `{job.public_id}` ({message.jump_url}).{warnings}", messages.MAX_CONTENT
        )
        try:
            await interaction.followup.send(receipt, ephemeral=True)
        except discord.HTTPException as error:  # e.g. the interaction token expired; delivery does not need it
            log.warning("Could not confirm job %s to user %s: %s", job.public_id, user_id, error)
        return job

    async def imagine(self, interaction: discord.Interaction, prompt: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._check_allowed(interaction, prompt)
        settings = await self._jobs.user_settings(interaction.user.id)
        request = parse_prompt(prompt, PromptDefaults.model_validate(settings.defaults))
        await self.launch(interaction, request, kind=JobKind.IMAGINE, raw_prompt=prompt)

    async def separate_image(self, interaction: discord.Interaction, job_id: str, index: int) -> None:
        """U1–U4: no GPU, the stored tile goes out as the interaction's own reply at once."""
        job, image = await self._job_image(interaction, job_id, index)
        try:
            upload = await asyncio.to_thread(fit_file, image.path, f"{job_id}-{index}", interaction.filesize_limit)
        except UploadTooLarge as error:
            raise UserFacingError(f"Image #{index} can't be sent here: {error}.") from error
        await interaction.response.send_message(
            messages.image_content(job.request, interaction.user.id, index),
            file=upload.to_file(),
            view=image_view(job_id, index, interaction.user.id),
        )

    async def vary(self, interaction: discord.Interaction, job_id: str, index: int, mode: str) -> None:
        await self._derive(interaction, job_id, index, JobKind.VARIATION, lambda r, i: derive.variation(r, i, mode))

    async def upscale(self, interaction: discord.Interaction, job_id: str, index: int, mode: str) -> None:
        await self._derive(interaction, job_id, index, JobKind.UPSCALE, lambda r, i: derive.upscale(r, i, mode))

    async def zoom_out(self, interaction: discord.Interaction, job_id: str, index: int) -> None:
        await self._derive(interaction, job_id, index, JobKind.ZOOM, derive.zoom_out)

    async def pan(self, interaction: discord.Interaction, job_id: str, index: int, direction: Direction) -> None:
        await self._derive(interaction, job_id, index, JobKind.PAN, lambda r, i: derive.pan(r, i, direction))

    async def reroll(self, interaction: discord.Interaction, job_id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self._job(job_id)
        await self._check_may_press(interaction, job)
        await self._check_allowed(interaction, job.raw_prompt)
        await self.launch(
            interaction, derive.reroll(job.request), kind=JobKind.REROLL, raw_prompt=job.raw_prompt, parent=job
        )

    async def reproduce(self, interaction: discord.Interaction, job_id: str, index: int | None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self._job(job_id)
        if not job.images:
            raise UserFacingError(f"Job `{job_id}` has not finished, so there is nothing to reproduce yet.")
        image = self._image(job, index) if index is not None else None
        await self._check_allowed(interaction, job.raw_prompt)
        await self.launch(
            interaction,
            derive.reproduce(job.request, image),
            kind=JobKind.REPRODUCE,
            raw_prompt=job.raw_prompt,
            parent=job,
            parent_index=index,
        )

    async def show(self, interaction: discord.Interaction, job_id: str) -> None:
        """Post a finished job again, with live buttons, as this interaction's public reply."""
        job = await self._job(job_id)
        if job.status is not JobStatus.SUCCEEDED or job.grid_path is None:
            raise UserFacingError(f"Job `{job_id}` is {job.status}; only finished jobs can be shown.")
        await interaction.response.defer(thinking=True)
        result = await asyncio.to_thread(finished_message, job, interaction.filesize_limit)
        await interaction.followup.send(
            result.content,
            files=[result.upload.to_file()] if result.upload else [],
            view=result.layout.view(),
        )

    async def cancel(self, interaction: discord.Interaction, job_id: str | None) -> None:
        """Without an id, the newest of your unfinished jobs."""
        user_id = interaction.user.id
        if job_id is None:
            pending = [job for job in await self._jobs.recent_jobs(user_id, limit=50) if not job.is_finished]
            if not pending:
                raise UserFacingError("You have no queued or running jobs to cancel.")
            job_id = pending[0].public_id
        job = await self._job(job_id)
        if job.user_id != user_id:
            raise UserFacingError(f"Job `{job_id}` belongs to <@{job.user_id}>; you can only cancel your own.")
        if job.is_finished:
            raise UserFacingError(f"Job `{job_id}` has already ended ({job.status}).")
        if not await self._jobs.cancel(job_id, user_id):
            raise UserFacingError(f"Job `{job_id}` could not be cancelled; it may have just finished.")
        await interaction.response.send_message(f"Cancelled job `{job_id}`.", ephemeral=True)

    async def show_details(self, interaction: discord.Interaction, job_id: str, index: int) -> None:
        job = await self._job(job_id)
        image = self._image(job, index)
        await interaction.response.send_message(summaries.details_content(job, image), ephemeral=True)

    async def delete_message(self, interaction: discord.Interaction, owner_id: int) -> None:
        if interaction.user.id != owner_id and not await is_admin(self._bot, interaction):
            raise UserFacingError(f"Only <@{owner_id}> or a server admin can delete this image.")
        await interaction.response.defer()
        await interaction.message.delete()

    async def _derive(
        self,
        interaction: discord.Interaction,
        job_id: str,
        index: int,
        kind: JobKind,
        build: Callable[[GenerationRequest, ImageRecord], GenerationRequest],
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job, image = await self._job_image(interaction, job_id, index)
        await self._check_allowed(interaction, job.raw_prompt)
        await self.launch(
            interaction, build(job.request, image), kind=kind, raw_prompt=job.raw_prompt, parent=job, parent_index=index
        )

    async def _check_allowed(self, interaction: discord.Interaction, prompt: str) -> None:
        """The server's channel rules and banned words, for every job a command or a button starts: a word
        banned after a grid was made stops its 🔄, V, U and /reproduce too."""
        config = await check_channel_allowed(self._bot, interaction)
        check_prompt_allowed(config, prompt)

    async def _job(self, job_id: str) -> JobView:
        job = await self._jobs.get_job(job_id)
        if job is None:
            raise UserFacingError(f"There is no job `{job_id}`; /history lists yours.")
        return job

    def _image(self, job: JobView, index: int) -> ImageRecord:
        image = next((image for image in job.images if image.index == index), None)
        if image is None:
            count = len(job.images)
            if not count:
                raise UserFacingError(f"Job `{job.public_id}` has no images yet ({job.status}).")
            raise UserFacingError(f"Job `{job.public_id}` has images 1 to {count}; there is no image {index}.")
        return image

    async def _job_image(
        self, interaction: discord.Interaction, job_id: str, index: int
    ) -> tuple[JobView, ImageRecord]:
        job = await self._job(job_id)
        await self._check_may_press(interaction, job)
        return job, self._image(job, index)

    async def _check_may_press(self, interaction: discord.Interaction, job: JobView) -> None:
        """Pressing someone else's button makes a job of your own, unless they switched that off."""
        if interaction.user.id == job.user_id:
            return
        owner = await self._jobs.user_settings(job.user_id)
        if not owner.others_may_use_buttons:
            raise UserFacingError(
                f"<@{job.user_id}> keeps the buttons on their images to themselves. "
                "Use /imagine, or ask them to allow it in /settings."
            )
