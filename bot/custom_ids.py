"""The custom_id of every persistent button, `imagine:<action>:<part>[:<part>...]`, and the base they share.

Buttons already posted carry these ids forever, so an action's name, its parts' patterns and the text
they are written as must never change (a test pins them byte for byte). The state a button needs —
job id, image index, mode — lives in its id, so a press on any message, after any restart, rebuilds
the button from the id alone and its callback does the work (discord.py's `DynamicItem`; see its
`examples/views/dynamic_counter.py`). Each feature defines its button class beside its logic, from
the spec here; the layouts (`bot.layouts`) draw buttons from the same specs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import discord
from discord.ext import commands

from bot.gate import admit
from engine.request import Direction

log = logging.getLogger(__name__)

PREFIX = "imagine"
MAX_CUSTOM_ID = 100


@dataclass(frozen=True)
class Part:
    """One `:`-separated field of a custom_id: what it may look like, and how to read it back."""

    name: str
    pattern: str
    parse: Callable[[str], Any] = str

    @property
    def group(self) -> str:
        return f"(?P<{self.name}>{self.pattern})"


JOB_ID = Part("job", "[A-Za-z0-9_-]{1,40}")
INDEX = Part("index", "[1-9][0-9]?", int)
USER_ID = Part("owner", "[0-9]{1,20}", int)
VARY_MODE = Part("mode", "strong|subtle")
UPSCALE_MODE = Part("mode", "subtle|creative")
DIRECTION = Part("direction", "left|right|up|down", Direction)


@dataclass(frozen=True)
class ButtonSpec:
    action: str
    parts: tuple[Part, ...]

    @property
    def template(self) -> str:
        return ":".join([PREFIX, self.action, *(part.group for part in self.parts)])

    def custom_id(self, *values: object) -> str:
        if len(values) != len(self.parts):
            raise ValueError(f"{self.action} buttons take {len(self.parts)} values, got {values!r}")
        value = ":".join([PREFIX, self.action, *(str(getattr(v, "value", v)) for v in values)])
        if len(value) > MAX_CUSTOM_ID or not re.fullmatch(self.template, value):
            raise ValueError(f"custom_id {value!r} does not fit the {self.action} button's format")
        return value

    def values(self, match: re.Match[str]) -> tuple[Any, ...]:
        return tuple(part.parse(match[part.name]) for part in self.parts)


# U1–U4. "upscale" is Midjourney's historical name for taking one image out of the grid; the button
# only separates the stored tile (no GPU work). Enlarging is ENLARGE.
SEPARATE = ButtonSpec("upscale", (JOB_ID, INDEX))
REROLL = ButtonSpec("reroll", (JOB_ID,))
VARY = ButtonSpec("vary", (JOB_ID, INDEX, VARY_MODE))
# Upscale (Subtle)/(Creative): the real upscale, on the GPU.
ENLARGE = ButtonSpec("enlarge", (JOB_ID, INDEX, UPSCALE_MODE))
ZOOM_OUT = ButtonSpec("zoom", (JOB_ID, INDEX))
"""Zoom Out 2x (the first zoom button, from before the others existed)."""
ZOOM_OUT_LESS = ButtonSpec("zoom15", (JOB_ID, INDEX))
"""Zoom Out 1.5x."""
CUSTOM_ZOOM = ButtonSpec("customzoom", (JOB_ID, INDEX))
MAKE_SQUARE = ButtonSpec("square", (JOB_ID, INDEX))
VARY_REGION = ButtonSpec("region", (JOB_ID, INDEX))
SEND_TO_DM = ButtonSpec("dm", (JOB_ID, INDEX))
PAN = ButtonSpec("pan", (JOB_ID, INDEX, DIRECTION))
DETAILS = ButtonSpec("details", (JOB_ID, INDEX))
DELETE = ButtonSpec("delete", (USER_ID,))
# Under a /describe's suggestions: 1️⃣–4️⃣ /imagine suggestion `index` of the job (read from the job, never from
# the id), 🔄 describes the job's image again, Imagine all /imagines every suggestion.
SUGGESTION = ButtonSpec("suggestion", (JOB_ID, INDEX))
DESCRIBE_AGAIN = ButtonSpec("describe", (JOB_ID,))
IMAGINE_ALL = ButtonSpec("imagineall", (JOB_ID,))
# Every spec whose id names a job: an image message's buttons say which job it shows.
JOB_SPECS = (
    SEPARATE,
    REROLL,
    VARY,
    ENLARGE,
    ZOOM_OUT,
    ZOOM_OUT_LESS,
    CUSTOM_ZOOM,
    MAKE_SQUARE,
    VARY_REGION,
    PAN,
    SEND_TO_DM,
    DETAILS,
    SUGGESTION,
    DESCRIBE_AGAIN,
    IMAGINE_ALL,
)


GRAMMAR = rf"{PREFIX}:[a-z]+(?::[^:]+)+"


class PersistentButton(discord.ui.DynamicItem[discord.ui.Button], template=GRAMMAR):
    """A button rebuilt from its custom_id on every press. A subclass names its spec in its class statement
    (`class RerollButton(PersistentButton, spec=REROLL)`) and implements `callback`; it is built from the
    spec's values in order, each kept as an attribute named after its part (`self.job`, `self.index`, …).
    The template above only describes the grammar: this base, and bases without a spec, are never
    registered."""

    spec: ClassVar[ButtonSpec]

    def __init_subclass__(cls, *, spec: ButtonSpec | None = None, **options: object) -> None:
        super().__init_subclass__(template=spec.template if spec else GRAMMAR, **options)
        if spec is not None:
            cls.spec = spec

    def __init__(self, *values: object) -> None:
        super().__init__(discord.ui.Button(custom_id=self.spec.custom_id(*values)))
        for part, value in zip(self.spec.parts, values, strict=True):
            setattr(self, part.name, value)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Every press passes the gate (DMs, cooldowns) first. A press of a button its message does not have is
        dropped here too, should discord.py ever stop doing it first (`forged_press`)."""
        if forged_press(interaction):
            return False
        return await admit(interaction)

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> Self:
        return cls(*cls.spec.values(match))


def forged_press(interaction: discord.Interaction) -> bool:
    """A press of one of our buttons whose custom_id is not on the message it came from. The client sends the id,
    and a modified client can send any (a 🗑️ naming the presser as the one a copy was made for, a button for
    another job); the message is Discord's own copy. discord.py 2.7 already drops such a press before any
    DynamicItem sees it (`ViewStore.schedule_dynamic_item_call` looks the id up on the message), silently; the
    bot answers it (`bot.exts.admin.error_handler`)."""
    if interaction.type is not discord.InteractionType.component:
        return False
    custom_id = (interaction.data or {}).get("custom_id") or ""
    if not re.fullmatch(GRAMMAR, custom_id):
        return False  # not one of ours
    return interaction.message is None or custom_id not in set(custom_ids_on(interaction.message))


def custom_ids_on(message: discord.Message) -> Iterator[str]:
    """The custom_id of every component of `message`, in order (inside action rows, and in the containers and
    sections of Discord's newer layouts)."""
    pending = list(message.components)
    while pending:
        component = pending.pop(0)
        if custom_id := getattr(component, "custom_id", None):
            yield custom_id
        children = list(getattr(component, "children", ()))
        if (accessory := getattr(component, "accessory", None)) is not None:
            children.append(accessory)
        pending[:0] = children


def job_shown_in(message: discord.Message) -> str | None:
    """The job whose images (or suggestions) `message` shows, read from its buttons (a grid's U1, an image's Vary,
    a /describe's 1️⃣, …)."""
    for custom_id in custom_ids_on(message):
        for spec in JOB_SPECS:
            if match := re.fullmatch(spec.template, custom_id):
                return match["job"]
    return None


def button_extension(*buttons: type[PersistentButton]):
    """`setup` and `teardown` for a feature module whose feature is its buttons:
    `setup, teardown = button_extension(VaryButton)`."""

    async def setup(bot: commands.Bot) -> None:
        bot.add_dynamic_items(*buttons)

    async def teardown(bot: commands.Bot) -> None:
        bot.remove_dynamic_items(*buttons)

    return setup, teardown
