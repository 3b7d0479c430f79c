"""Upscale (Subtle)/(Creative) under one image: enlarge it on the GPU (U1–U4 only take an image out of the
grid; see `bot.exts.images.separate`). Its custom_id action is `enlarge`."""

from __future__ import annotations

import discord

from bot import derive
from bot.client import ImagineBot
from bot.custom_ids import ENLARGE, PersistentButton
from bot.errors import guarded
from jobs import JobKind


class UpscaleButton(PersistentButton, spec=ENLARGE):
    def __init__(self, job_id: str, index: int, mode: str) -> None:
        super().__init__(job_id, index, mode)
        self.job_id, self.index, self.mode = job_id, index, mode

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.client.launcher.launch_from_image(
            interaction,
            self.job_id,
            self.index,
            kind=JobKind.UPSCALE,
            derive=lambda request, image: derive.upscale(request, image, self.mode),
        )


async def setup(bot: ImagineBot) -> None:
    bot.add_dynamic_items(UpscaleButton)


async def teardown(bot: ImagineBot) -> None:
    bot.remove_dynamic_items(UpscaleButton)
