"""V1–V4 on a grid and Vary (Strong)/(Subtle) under one image: a new grid of variations of that image."""

from __future__ import annotations

import discord

from bot.components.base import ActionButton
from bot.components.ids import INDEX, JOB_ID, Part

MODE = Part("mode", "strong|subtle")


class VaryButton(ActionButton, action="vary", parts=(JOB_ID, INDEX, MODE)):
    def __init__(self, job_id: str, index: int, mode: str, *, label: str | None = None, row: int | None = None) -> None:
        look = {"label": label} if label else {"label": f"Vary ({mode.title()})", "emoji": "🪄"}
        super().__init__(job_id, index, mode, row=row, **look)
        self.job_id = job_id
        self.index = index
        self.mode = mode

    async def press(self, actions, interaction: discord.Interaction) -> None:
        await actions.vary(interaction, self.job_id, self.index, self.mode)
