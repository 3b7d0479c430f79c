"""U1–U4: separate one image from the grid, instantly, from the stored tile."""

from __future__ import annotations

import discord

from bot.components.ids import INDEX, JOB_ID, custom_id
from bot.errors import guarded


class SelectImageButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"imagine:upscale:{JOB_ID}:{INDEX}"):
    def __init__(self, job_id: str, index: int, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=f"U{index}",
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id("upscale", job_id, index),
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
        await interaction.client.actions.separate_image(interaction, self.job_id, self.index)
