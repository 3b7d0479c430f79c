"""🗑️: remove an image message; only the person it was made for, or a guild admin, may."""

from __future__ import annotations

import discord

from bot.components.base import ActionButton
from bot.components.ids import USER_ID


class DeleteButton(ActionButton, action="delete", parts=(USER_ID,)):
    def __init__(self, owner_id: int, *, row: int | None = None) -> None:
        super().__init__(owner_id, row=row, emoji="🗑️", style=discord.ButtonStyle.danger)
        self.owner_id = owner_id

    async def press(self, actions, interaction: discord.Interaction) -> None:
        await actions.delete_message(interaction, self.owner_id)
