"""🗑️: remove an image message; only the person it was made for, or a guild admin, may."""

from __future__ import annotations

import discord

from bot.components.ids import custom_id
from bot.errors import guarded


class DeleteButton(discord.ui.DynamicItem[discord.ui.Button], template=r"imagine:delete:(?P<owner>[0-9]{1,20})"):
    def __init__(self, owner_id: int, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                emoji="🗑️",
                style=discord.ButtonStyle.danger,
                custom_id=custom_id("delete", owner_id),
                row=row,
            )
        )
        self.owner_id = owner_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match, /):
        return cls(int(match["owner"]))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.client.actions.delete_message(interaction, self.owner_id)
