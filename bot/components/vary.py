"""V1–V4 on a grid and Vary (Strong)/(Subtle) under one image: a new grid of variations of that image."""

from __future__ import annotations

import discord

from bot.components.ids import INDEX, JOB_ID, custom_id
from bot.errors import guarded

MODE = r"(?P<mode>strong|subtle)"


class VaryButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"imagine:vary:{JOB_ID}:{INDEX}:{MODE}"):
    def __init__(self, job_id: str, index: int, mode: str, *, label: str | None = None, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or f"Vary ({mode.title()})",
                emoji=None if label else "🪄",
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id("vary", job_id, index, mode),
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
        await interaction.client.actions.vary(interaction, self.job_id, self.index, self.mode)
