"""ℹ️ under one image: its full record, privately, with the command that reproduces it."""

from __future__ import annotations

import discord

from bot.client import ImagineBot
from bot.custom_ids import DETAILS, PersistentButton, button_extension
from bot.errors import guarded
from bot.job_lookup import find_image
from bot.private_replies import details_content


class DetailsButton(PersistentButton, spec=DETAILS):
    job: str
    index: int

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await interaction.client.rules.job_for(interaction, self.job, posting=False)
        image = find_image(job, self.index)
        await interaction.followup.send(details_content(job, image), ephemeral=True)


setup, teardown = button_extension(DetailsButton)
