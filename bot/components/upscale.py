"""Upscale (Subtle)/(Creative): enlarge one image on the GPU (U1–U4 only separate it)."""

from __future__ import annotations

import discord

from bot.components.ids import INDEX, JOB_ID, custom_id
from bot.errors import guarded

MODE = r"(?P<mode>subtle|creative)"


class UpscaleButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"imagine:enlarge:{JOB_ID}:{INDEX}:{MODE}"):
    def __init__(self, job_id: str, index: int, mode: str, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=f"Upscale ({mode.title()})",
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id("enlarge", job_id, index, mode),
                row=row,
            )
        )
        self.job_id = job_id
        self.index = index
        self.mode = mode

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match, /):
        return cls(match["job"], int(match["index"]), match["mode"])

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.client.actions.upscale(interaction, self.job_id, self.index, self.mode)
