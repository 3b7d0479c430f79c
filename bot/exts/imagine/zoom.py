"""Zoom Out 2x under one image: the image shrunk into the middle of a larger canvas, the border painted anew."""

from __future__ import annotations

import discord

from bot import derive
from bot.client import ImagineBot
from bot.custom_ids import ZOOM_OUT, PersistentButton
from bot.errors import guarded
from jobs import JobKind


class ZoomOutButton(PersistentButton, spec=ZOOM_OUT):
    def __init__(self, job_id: str, index: int) -> None:
        super().__init__(job_id, index)
        self.job_id, self.index = job_id, index

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.client.launcher.launch_from_image(
            interaction, self.job_id, self.index, kind=JobKind.ZOOM, derive=derive.zoom_out
        )


async def setup(bot: ImagineBot) -> None:
    bot.add_dynamic_items(ZoomOutButton)


async def teardown(bot: ImagineBot) -> None:
    bot.remove_dynamic_items(ZoomOutButton)
