"""`ActionButton`: everything a persistent button needs except what it looks like and what it does.

A subclass names its action and the parts of its custom_id in its class statement; its
constructor takes those parts' values positionally, in the same order, which is how a press on
an old message rebuilds it from the id alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import discord

from bot.components.ids import Part, custom_id
from bot.errors import guarded

if TYPE_CHECKING:
    from bot.actions import JobActions


class ActionButton(discord.ui.DynamicItem[discord.ui.Button], template=r"imagine:[a-z]+(?::[^:]+)+"):
    """The template above only describes the grammar: this base is never registered, its subclasses are."""

    action: ClassVar[str]
    parts: ClassVar[tuple[Part, ...]]

    def __init_subclass__(cls, *, action: str, parts: tuple[Part, ...]) -> None:
        super().__init_subclass__(template=":".join(["imagine", action, *(part.group for part in parts)]))
        cls.action = action
        cls.parts = parts

    def __init__(
        self,
        *values: object,
        row: int | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        **look: Any,
    ) -> None:
        """`values` fill the parts; `look` is the button's label and/or emoji."""
        super().__init__(discord.ui.Button(style=style, custom_id=custom_id(self.action, *values), row=row, **look))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match, /):
        return cls(*(part.parse(match[part.name]) for part in cls.parts))

    @guarded
    async def callback(self, interaction: discord.Interaction) -> None:
        await self.press(interaction.client.actions, interaction)

    async def press(self, actions: JobActions, interaction: discord.Interaction) -> None:
        """What the button does: one call into `JobActions`."""
        raise NotImplementedError
