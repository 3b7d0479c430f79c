"""U1–U4: separate one image from the grid, instantly, from the stored tile."""

from __future__ import annotations

import discord

from bot.components.base import ActionButton
from bot.components.ids import INDEX, JOB_ID


class SelectImageButton(ActionButton, action="upscale", parts=(JOB_ID, INDEX)):
    def __init__(self, job_id: str, index: int, *, row: int | None = None) -> None:
        super().__init__(job_id, index, row=row, label=f"U{index}")
        self.job_id = job_id
        self.index = index

    async def press(self, actions, interaction: discord.Interaction) -> None:
        await actions.separate_image(interaction, self.job_id, self.index)
