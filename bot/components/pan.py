"""⬅️ ➡️ ⬆️ ⬇️: extend the image in one direction."""

from __future__ import annotations

import discord

from bot.components.ids import INDEX, JOB_ID, custom_id
from bot.errors import guarded
from engine.request import Direction

ARROWS = {Direction.LEFT: "⬅️", Direction.RIGHT: "➡️", Direction.UP: "⬆️", Direction.DOWN: "⬇️"}
DIRECTION = r"(?P<direction>left|right|up|down)"


class PanButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"imagine:pan:{JOB_ID}:{INDEX}:{DIRECTION}"):
    def __init__(self, job_id: str, index: int, direction: Direction, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                emoji=ARROWS[direction],
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id("pan", job_id, index, direction.value),
                row=row,
            )
        )
        self.job_id = job_id
        self.index = index
        self.direction = direction

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match, /):
        return cls(match["job"], int(match["index"]), Direction(match["direction"]))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.client.actions.pan(interaction, self.job_id, self.index, self.direction)
