"""/imagine prompt:<text> — a grid of four images, delivered into a channel message."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from engine.flags import PromptDefaults, parse_prompt
from jobs import JobKind

MAX_PROMPT = 1500


class Imagine(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Make four images from a prompt, e.g. a red fox in snow --ar 3:2")
    @app_commands.describe(prompt="What to draw, then optional flags such as --ar 3:2 --no trees --seed 7")
    async def imagine(self, interaction: discord.Interaction, prompt: app_commands.Range[str, 1, MAX_PROMPT]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.rules.check_allowed(interaction, prompt)
        settings = await self.bot.jobs.user_settings(interaction.user.id)
        request = parse_prompt(prompt, PromptDefaults.model_validate(settings.defaults), models=self.bot.models)
        await self.bot.launcher.launch(interaction, request, kind=JobKind.IMAGINE, raw_prompt=prompt)


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Imagine(bot))
