"""Submitting a job for an interaction and posting its message: the step every command and button that
makes images shares."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import discord

from bot.delivery import Delivery
from bot.errors import UserFacingError
from bot.job_lookup import check_images_kept, find_image
from bot.member_settings import MemberSettings
from bot.public_messages import MAX_CONTENT, shorten
from bot.remix import remixed
from bot.rules import ServerRules
from engine.budgets import source_refusal
from engine.flags import PromptDefaults
from engine.registry import ModelRegistry
from engine.request import GenerationRequest
from jobs import JobKind, JobService, QueueFull
from jobs.results import ImageRecord
from jobs.views import JobView

log = logging.getLogger(__name__)


class JobLauncher:
    """Given the job service, the delivery that shows a job in its channel, the server rules, members' settings
    (private results, remix defaults), the model registry (remixed prompts are parsed against it), and the
    upscale budget (an operation on a stored image is refused at the button when it would pass a budget)."""

    def __init__(
        self,
        jobs: JobService,
        delivery: Delivery,
        rules: ServerRules,
        member_settings: MemberSettings,
        models: ModelRegistry,
        upscale_max_pixels: int,
    ) -> None:
        self._jobs = jobs
        self._delivery = delivery
        self._rules = rules
        self._member_settings = member_settings
        self._models = models
        self._upscale_max_pixels = upscale_max_pixels

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
        """Submit, post the job's message, remember it on the job, deliver into it.

        Where the message goes (the channel, or the member's DMs with private results) is decided before the job
        exists and stored on it as its channel: a bot restarted before the first post posts it there too, whatever
        the member's settings say by then. The interaction must already be deferred ephemerally; the private reply
        names the job id.
        """
        user_id = interaction.user.id
        channel, private = await self._destination(interaction)
        job = await self._jobs.submit(
            request,
            kind=kind,
            user_id=user_id,
            # A button pressed in DMs under a private result: the new job stays its server's (its rules, caps, share)
            guild_id=interaction.guild_id if interaction.guild_id is not None else parent.guild_id if parent else None,
            channel_id=channel.id,
            raw_prompt=raw_prompt,
            parent_job=parent.public_id if parent else None,
            parent_index=parent_index,
        )
        try:
            message = await self._delivery.post(job, channel, upload_limit=interaction.filesize_limit)
        except discord.HTTPException as error:
            await self._jobs.cancel(job.public_id, user_id)
            await self._jobs.mark_delivered(job.public_id, f"could not post in channel {channel.id}")
            why = error.text or error.status
            raise UserFacingError(
                f"I can't send you a direct message ({why}); the job was cancelled. Allow direct messages from "
                "this server's members, or turn private results off in /settings."
                if private
                else f"I can't post in this channel ({why}); the job was cancelled. "
                "Ask a server admin to let me send messages and attach files here."
            ) from error
        warnings = "".join(f"\n⚠️ {warning}" for warning in request.warnings)
        receipt = f"Queued as job `{job.public_id}` ({message.jump_url}).{warnings}"
        try:
            await interaction.followup.send(shorten(receipt, MAX_CONTENT), ephemeral=True)
        except discord.HTTPException as error:  # e.g. the interaction token expired; delivery does not need it
            log.warning("Could not confirm job %s to user %s: %s", job.public_id, user_id, error)
        return job

    async def launch_each(
        self,
        interaction: discord.Interaction,
        requests: Sequence[GenerationRequest],
        raw_prompts: Sequence[str],
        *,
        kind: JobKind,
        source: str,
        parent: JobView | None = None,
    ) -> None:
        """One job per request, in order, for one command or press that makes several (`source` names it in the
        reply: "this prompt", "Imagine all"). A cap reached part-way keeps the jobs already queued and says how many
        of them there are; a cap reached at the first job is refused as a single job would be."""
        for started, (request, raw_prompt) in enumerate(zip(requests, raw_prompts, strict=True)):
            try:
                await self.launch(interaction, request, kind=kind, raw_prompt=raw_prompt, parent=parent)
            except (QueueFull, UserFacingError) as error:
                if started == 0:
                    raise
                log.info(
                    "%s of user %s stopped after %d of %d jobs: %s",
                    source,
                    interaction.user.id,
                    started,
                    len(requests),
                    error,
                )
                raise UserFacingError(
                    f"Queued {started} of the {len(requests)} jobs {source} makes; the rest were not: {error}"
                ) from error

    async def _destination(self, interaction: discord.Interaction) -> tuple[discord.abc.MessageableChannel, bool]:
        """Where the job's message goes, and whether that is the member's DMs (private results) rather than the
        channel it was asked in. A DM that cannot be opened refuses the job before it is queued."""
        if (await self._member_settings.get(interaction.user.id)).private_results:
            try:
                return await interaction.user.create_dm(), True
            except discord.HTTPException as error:
                raise UserFacingError(
                    f"I can't open a direct message with you ({error.text or error.status}); nothing was queued. "
                    "Turn private results off in /settings to get your images here."
                ) from error
        return interaction.channel or interaction.client.get_partial_messageable(interaction.channel_id), False

    async def launch_from_job(
        self,
        interaction: discord.Interaction,
        job_id: str,
        *,
        kind: JobKind,
        derive: Callable[[GenerationRequest], GenerationRequest],
        text: str | None = None,
    ) -> JobView:
        """A new job made from a stored one as a whole (🔄); with `text`, from the member's remix of it."""
        job, base, raw_prompt = await self._pressed(interaction, job_id, text)
        return await self.launch(interaction, derive(base), kind=kind, raw_prompt=raw_prompt, parent=job)

    async def launch_from_image(
        self,
        interaction: discord.Interaction,
        job_id: str,
        index: int,
        *,
        kind: JobKind,
        derive: Callable[[GenerationRequest, ImageRecord], GenerationRequest],
        text: str | None = None,
    ) -> JobView:
        """A new job made from one stored image (V, Upscale, Zoom, Pan, Vary (Region)); with `text`, from the
        member's remix of the job's prompt and flags."""
        job, base, raw_prompt = await self._pressed(interaction, job_id, text)
        check_images_kept(job)  # they start from the stored image
        image = find_image(job, index)
        request = derive(base, image)
        refusal = source_refusal(request, (image.width, image.height), self._upscale_max_pixels)
        if refusal:
            raise UserFacingError(refusal)
        return await self.launch(interaction, request, kind=kind, raw_prompt=raw_prompt, parent=job, parent_index=index)

    async def _pressed(
        self, interaction: discord.Interaction, job_id: str, text: str | None
    ) -> tuple[JobView, GenerationRequest, str]:
        """A button under a stored job was pressed (or its remix form sent): acknowledge it, check that the
        presser may use the job here (`ServerRules.job_for`), and read a remix as /imagine reads a prompt,
        with the presser's defaults and the server's banned words. The new job is the presser's."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await self._rules.job_for(interaction, job_id, posting=True)
        if text is None:
            return job, job.request, job.raw_prompt
        await self._rules.check_allowed(interaction, text, home=job.guild_id)
        settings = await self._member_settings.get(interaction.user.id)
        defaults = PromptDefaults.model_validate(settings.defaults)
        return job, remixed(job.request, text, defaults, self._models), text
