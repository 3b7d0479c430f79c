"""🔄: the same prompt and parameters again, with new seeds."""

from __future__ import annotations

import discord

from bot.components.base import ActionButton
from bot.components.ids import JOB_ID


class RerollButton(ActionButton, action="reroll", parts=(JOB_ID,)):
    def __init__(self, job_id: str, *, row: int | None = None) -> None:
        super().__init__(job_id, row=row, emoji="🔄")
        self.job_id = job_id

    async def press(self, actions, interaction: discord.Interaction) -> None:
        await actions.reroll(interaction, self.job_id)
