"""🗑️ under one image: remove its message; only the person it was made for, or a server admin, may."""

from __future__ import annotations

import discord

from bot.client import ImagineBot
from bot.custom_ids import DELETE, PersistentButton, button_extension
from bot.errors import UserFacingError, guarded


class DeleteButton(PersistentButton, spec=DELETE):
    owner: int

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.response.defer()
        if interaction.user.id != self.owner and not await interaction.client.rules.is_admin(interaction):
            raise UserFacingError(f"Only <@{self.owner}> or a server admin can delete this image.")
        await interaction.message.delete()


setup, teardown = button_extension(DeleteButton)
