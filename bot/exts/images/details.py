"""ℹ️ under one image: its full record, privately, with the command that reproduces it."""

from __future__ import annotations

import discord

from bot.client import ImagineBot
from bot.custom_ids import DETAILS, PersistentButton
from bot.errors import guarded
from bot.job_lookup import find_image, find_job
from bot.private_replies import details_content


class DetailsButton(PersistentButton, spec=DETAILS):
    def __init__(self, job_id: str, index: int) -> None:
        super().__init__(job_id, index)
        self.job_id, self.index = job_id, index

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        job = await find_job(interaction.client.jobs, self.job_id)
        image = find_image(job, self.index)
        await interaction.response.send_message(details_content(job, image), ephemeral=True)


async def setup(bot: ImagineBot) -> None:
    bot.add_dynamic_items(DetailsButton)


async def teardown(bot: ImagineBot) -> None:
    bot.remove_dynamic_items(DetailsButton)
