"""⬅️ ➡️ ⬆️ ⬇️ under one image: extend it in one direction."""

from __future__ import annotations

import discord

from bot import derive
from bot.client import ImagineBot
from bot.custom_ids import PAN, PersistentButton
from bot.errors import guarded
from engine.request import Direction
from jobs import JobKind


class PanButton(PersistentButton, spec=PAN):
    def __init__(self, job_id: str, index: int, direction: Direction) -> None:
        super().__init__(job_id, index, direction)
        self.job_id, self.index, self.direction = job_id, index, direction

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.client.launcher.launch_from_image(
            interaction,
            self.job_id,
            self.index,
            kind=JobKind.PAN,
            derive=lambda request, image: derive.pan(request, image, self.direction),
        )


async def setup(bot: ImagineBot) -> None:
    bot.add_dynamic_items(PanButton)


async def teardown(bot: ImagineBot) -> None:
    bot.remove_dynamic_items(PanButton)
