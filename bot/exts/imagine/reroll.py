"""🔄 under a grid: the same prompt and parameters again, with new seeds, as the presser's job."""

from __future__ import annotations

import discord

from bot import derive
from bot.client import ImagineBot
from bot.custom_ids import REROLL, PersistentButton
from bot.errors import guarded
from jobs import JobKind


class RerollButton(PersistentButton, spec=REROLL):
    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.client.launcher.launch_from_job(
            interaction, self.job_id, kind=JobKind.REROLL, derive=derive.reroll
        )


async def setup(bot: ImagineBot) -> None:
    bot.add_dynamic_items(RerollButton)


async def teardown(bot: ImagineBot) -> None:
    bot.remove_dynamic_items(RerollButton)
