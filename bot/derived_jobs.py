"""Buttons that make a new job from a stored one: 🔄 from a whole job, V / Upscale / Zoom / Pan from one image.

Each feature subclass says which kind of job it makes and how its request is derived; pressing it
checks who may press and the server's rules, then launches the new job as the presser's.
"""

from __future__ import annotations

from typing import ClassVar

import discord

from bot.client import ImagineBot
from bot.custom_ids import PersistentButton
from bot.errors import guarded
from engine.request import GenerationRequest
from jobs import JobKind
from jobs.results import ImageRecord


class FromJobButton(PersistentButton):
    kind: ClassVar[JobKind]
    """What the new job is recorded as; each subclass sets it."""
    job: str

    def derive(self, request: GenerationRequest) -> GenerationRequest:
        raise NotImplementedError

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.client.launcher.launch_from_job(interaction, self.job, kind=self.kind, derive=self.derive)


class FromImageButton(PersistentButton):
    kind: ClassVar[JobKind]
    job: str
    index: int

    def derive(self, request: GenerationRequest, image: ImageRecord) -> GenerationRequest:
        raise NotImplementedError

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.client.launcher.launch_from_image(
            interaction, self.job, self.index, kind=self.kind, derive=self.derive
        )
