"""ℹ️: the full record of one image, privately, with the command that reproduces it."""

from __future__ import annotations

import discord

from bot.components.base import ActionButton
from bot.components.ids import INDEX, JOB_ID


class DetailsButton(ActionButton, action="details", parts=(JOB_ID, INDEX)):
    def __init__(self, job_id: str, index: int, *, row: int | None = None) -> None:
        super().__init__(job_id, index, row=row, emoji="ℹ️")
        self.job_id = job_id
        self.index = index

    async def press(self, actions, interaction: discord.Interaction) -> None:
        await actions.show_details(interaction, self.job_id, self.index)
