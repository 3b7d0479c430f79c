"""Upscale (Subtle)/(Creative): enlarge one image on the GPU (U1–U4 only separate it)."""

from __future__ import annotations

import discord

from bot.components.base import ActionButton
from bot.components.ids import INDEX, JOB_ID, Part

MODE = Part("mode", "subtle|creative")


class UpscaleButton(ActionButton, action="enlarge", parts=(JOB_ID, INDEX, MODE)):
    def __init__(self, job_id: str, index: int, mode: str, *, row: int | None = None) -> None:
        super().__init__(job_id, index, mode, row=row, label=f"Upscale ({mode.title()})")
        self.job_id = job_id
        self.index = index
        self.mode = mode

    async def press(self, actions, interaction: discord.Interaction) -> None:
        await actions.upscale(interaction, self.job_id, self.index, self.mode)
