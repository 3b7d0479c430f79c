"""Zoom Out 2×: the image shrunk into the middle of a larger canvas, the border painted anew."""

from __future__ import annotations

import discord

from bot.components.ids import INDEX, JOB_ID, custom_id
from bot.errors import guarded


class ZoomOutButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"imagine:zoom:{JOB_ID}:{INDEX}"):
    def __init__(self, job_id: str, index: int, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label="Zoom Out 2x",
                emoji="🔍",
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id("zoom", job_id, index),
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
        await interaction.client.actions.zoom_out(interaction, self.job_id, self.index)
