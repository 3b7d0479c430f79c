"""🔄: the same prompt and parameters again, with new seeds."""

from __future__ import annotations

import discord

from bot.components.ids import JOB_ID, custom_id
from bot.errors import guarded


class RerollButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"imagine:reroll:{JOB_ID}"):
    def __init__(self, job_id: str, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                emoji="🔄",
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id("reroll", job_id),
                row=row,
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match, /):
        return cls(match["job"])

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.client.actions.reroll(interaction, self.job_id)
