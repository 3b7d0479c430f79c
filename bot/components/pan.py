"""⬅️ ➡️ ⬆️ ⬇️: extend the image in one direction."""

from __future__ import annotations

import discord

from bot.components.base import ActionButton
from bot.components.ids import INDEX, JOB_ID, Part
from engine.request import Direction

ARROWS = {Direction.LEFT: "⬅️", Direction.RIGHT: "➡️", Direction.UP: "⬆️", Direction.DOWN: "⬇️"}
DIRECTION = Part("direction", "left|right|up|down", Direction)


class PanButton(ActionButton, action="pan", parts=(JOB_ID, INDEX, DIRECTION)):
    def __init__(self, job_id: str, index: int, direction: Direction, *, row: int | None = None) -> None:
        super().__init__(job_id, index, direction.value, row=row, emoji=ARROWS[direction])
        self.job_id = job_id
        self.index = index
        self.direction = direction

    async def press(self, actions, interaction: discord.Interaction) -> None:
        await actions.pan(interaction, self.job_id, self.index, self.direction)
