"""🗑️ under one image: remove its message; only the person it was made for, or a server admin, may."""

from __future__ import annotations

import discord

from bot.client import ImagineBot
from bot.custom_ids import DELETE, PersistentButton
from bot.errors import UserFacingError, guarded


class DeleteButton(PersistentButton, spec=DELETE):
    def __init__(self, owner_id: int) -> None:
        super().__init__(owner_id)
        self.owner_id = owner_id

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        if interaction.user.id != self.owner_id and not await interaction.client.rules.is_admin(interaction):
            raise UserFacingError(f"Only <@{self.owner_id}> or a server admin can delete this image.")
        await interaction.response.defer()
        await interaction.message.delete()


async def setup(bot: ImagineBot) -> None:
    bot.add_dynamic_items(DeleteButton)


async def teardown(bot: ImagineBot) -> None:
    bot.remove_dynamic_items(DeleteButton)
