"""Every slash-command failure reaches the user as a private message, never "This interaction failed"; so does
the press of a button that is not on its message (a modified client's made-up custom_id), which discord.py drops
without a word."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from bot.custom_ids import forged_press
from bot.errors import UserFacingError, report

log = logging.getLogger(__name__)


class ErrorHandler(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self._previous = bot.tree.on_error

    async def cog_load(self) -> None:
        self.bot.tree.on_error = self.on_app_command_error

    async def cog_unload(self) -> None:
        self.bot.tree.on_error = self._previous

    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report(interaction, error)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if forged_press(interaction):
            message_id = interaction.message.id if interaction.message else None
            log.warning("user %s pressed a button that is not on message %s", interaction.user.id, message_id)
            await report(interaction, UserFacingError("That button isn't on this message, so it can't be pressed."))


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(ErrorHandler(bot))
