"""ℹ️: the full record of one image, privately, with the command that reproduces it."""

from __future__ import annotations

import discord

from bot.components.ids import INDEX, JOB_ID, custom_id
from bot.errors import guarded


class DetailsButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"imagine:details:{JOB_ID}:{INDEX}"):
    def __init__(self, job_id: str, index: int, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                emoji="ℹ️",
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id("details", job_id, index),
                row=row,
            )
        )
        self.job_id = job_id
        self.index = index

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match, /):
        return cls(match["job"], int(match["index"]))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.client.actions.show_details(interaction, self.job_id, self.index)
