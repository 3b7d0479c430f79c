"""Zoom Out 2×: the image shrunk into the middle of a larger canvas, the border painted anew."""

from __future__ import annotations

import discord

from bot.components.base import ActionButton
from bot.components.ids import INDEX, JOB_ID


class ZoomOutButton(ActionButton, action="zoom", parts=(JOB_ID, INDEX)):
    def __init__(self, job_id: str, index: int, *, row: int | None = None) -> None:
        super().__init__(job_id, index, row=row, label="Zoom Out 2x", emoji="🔍")
        self.job_id = job_id
        self.index = index

    async def press(self, actions, interaction: discord.Interaction) -> None:
        await actions.zoom_out(interaction, self.job_id, self.index)
