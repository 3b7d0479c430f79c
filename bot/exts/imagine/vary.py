"""V1–V4 under a grid and Vary (Strong)/(Subtle) under one image: a new grid of variations of that image."""

from __future__ import annotations

import discord

from bot import derive
from bot.client import ImagineBot
from bot.custom_ids import VARY, PersistentButton
from bot.errors import guarded
from jobs import JobKind


class VaryButton(PersistentButton, spec=VARY):
    def __init__(self, job_id: str, index: int, mode: str) -> None:
        super().__init__(job_id, index, mode)
        self.job_id, self.index, self.mode = job_id, index, mode

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.client.launcher.launch_from_image(
            interaction,
            self.job_id,
            self.index,
            kind=JobKind.VARIATION,
            derive=lambda request, image: derive.variation(request, image, self.mode),
        )


async def setup(bot: ImagineBot) -> None:
    bot.add_dynamic_items(VaryButton)


async def teardown(bot: ImagineBot) -> None:
    bot.remove_dynamic_items(VaryButton)
