"""Buttons that make a new job from a stored one: 🔄 from a whole job, V / Upscale / Zoom / Pan from one image.

Each feature subclass says which kind of job it makes and how its request is derived; pressing it
checks who may press and the server's rules, then launches the new job as the presser's. With Remix on
(/settings), the press first opens the job's prompt and flags for editing (`bot.remix`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ClassVar

import discord

from bot.client import ImagineBot
from bot.custom_ids import PersistentButton
from bot.errors import guarded
from bot.remix import PromptForm, Submit, remix_text
from engine.request import GenerationRequest
from jobs import JobKind
from jobs.results import ImageRecord


async def open_form(
    interaction: discord.Interaction[ImagineBot],
    job_id: str,
    title: str,
    submit: Submit,
    text: Callable[[GenerationRequest], str] = remix_text,
) -> None:
    """Answer the press with a form holding the job's prompt (a form must be the first answer, so the job is
    looked up before anything is acknowledged; the rules are checked again when the form comes back)."""
    job = await interaction.client.rules.job_for(interaction, job_id, posting=True)
    await interaction.response.send_modal(PromptForm(title, text(job.request), submit))


async def remix_is_on(interaction: discord.Interaction[ImagineBot]) -> bool:
    return (await interaction.client.member_settings.get(interaction.user.id)).remix


class FromJobButton(PersistentButton):
    kind: ClassVar[JobKind]
    """What the new job is recorded as; each subclass sets it."""
    job: str

    def derive(self, request: GenerationRequest) -> GenerationRequest:
        raise NotImplementedError

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        launch = functools.partial(
            interaction.client.launcher.launch_from_job, job_id=self.job, kind=self.kind, derive=self.derive
        )
        if await remix_is_on(interaction):
            await open_form(interaction, self.job, "Remix", lambda submitted, text: launch(submitted, text=text))
        else:
            await launch(interaction)


class FromImageButton(PersistentButton):
    kind: ClassVar[JobKind]
    job: str
    index: int
    remixable: ClassVar[bool] = True
    """Upscales keep the prompt as it was, as on Midjourney."""

    def derive(self, request: GenerationRequest, image: ImageRecord) -> GenerationRequest:
        raise NotImplementedError

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        launch = functools.partial(
            interaction.client.launcher.launch_from_image,
            job_id=self.job,
            index=self.index,
            kind=self.kind,
            derive=self.derive,
        )
        if self.remixable and await remix_is_on(interaction):
            await open_form(interaction, self.job, "Remix", lambda submitted, text: launch(submitted, text=text))
        else:
            await launch(interaction)
