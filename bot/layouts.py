"""What a finished grid, a single image and a /describe show under them: their buttons (at most 5 rows of 5).

Each button is drawn from its spec in `bot.custom_ids`; the feature that answers it defines its
`PersistentButton` class beside its logic.
"""

from __future__ import annotations

import discord

from bot.custom_ids import (
    CUSTOM_ZOOM,
    DELETE,
    DESCRIBE_AGAIN,
    DETAILS,
    ENLARGE,
    IMAGINE_ALL,
    MAKE_SQUARE,
    PAN,
    REROLL,
    SEND_TO_DM,
    SEPARATE,
    SUGGESTION,
    VARY,
    VARY_REGION,
    ZOOM_OUT,
    ZOOM_OUT_LESS,
)
from engine.request import Direction

GRID_BUTTON_IMAGES = 4  # U1–U4 and V1–V4, as Midjourney shows; larger batches still get one grid
# One per suggestion; with 🔄 beside them they fill a row.
NUMBERS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣")
ARROWS = {Direction.LEFT: "⬅️", Direction.RIGHT: "➡️", Direction.UP: "⬆️", Direction.DOWN: "⬇️"}


def _button(custom_id: str, *, row: int, style=discord.ButtonStyle.secondary, **look) -> discord.ui.Button:
    return discord.ui.Button(custom_id=custom_id, row=row, style=style, **look)


def grid_view(job_id: str, image_count: int, owner_id: int, variation_mode: str = "strong") -> discord.ui.View:
    """U1–U4 / V1–V4 and 🔄 placed beside the U buttons, as on Midjourney's grids; 🗑️ beside the V buttons
    for the member the grid was made for (and server admins). V1–V4 make the owner's kind of variations
    (/settings)."""
    view = discord.ui.View(timeout=None)
    shown = range(1, min(image_count, GRID_BUTTON_IMAGES) + 1)
    for index in shown:
        view.add_item(_button(SEPARATE.custom_id(job_id, index), row=0, label=f"U{index}"))
    view.add_item(_button(REROLL.custom_id(job_id), row=0, emoji="🔄"))
    for index in shown:
        view.add_item(_button(VARY.custom_id(job_id, index, variation_mode), row=1, label=f"V{index}"))
    view.add_item(_button(DELETE.custom_id(owner_id), row=1, emoji="🗑️", style=discord.ButtonStyle.danger))
    return view


def image_view(
    job_id: str, index: int, owner_id: int, *, can_upscale: bool = True, square: bool = True
) -> discord.ui.View:
    """Under one image, as on Midjourney: Vary (Strong, Subtle, Region), Upscale (not when it would pass
    UPSCALE_MAX_PIXELS), Zoom Out 2x and 1.5x, Custom Zoom, Make Square (not on a square image), the pans,
    then 📩, ℹ️ and 🗑️."""
    view = discord.ui.View(timeout=None)
    for mode in ("strong", "subtle"):
        view.add_item(_button(VARY.custom_id(job_id, index, mode), row=0, label=f"Vary ({mode.title()})", emoji="🪄"))
    view.add_item(_button(VARY_REGION.custom_id(job_id, index), row=0, label="Vary (Region)", emoji="🖌️"))
    for mode in ("subtle", "creative") if can_upscale else ():
        view.add_item(_button(ENLARGE.custom_id(job_id, index, mode), row=1, label=f"Upscale ({mode.title()})"))
    view.add_item(_button(ZOOM_OUT.custom_id(job_id, index), row=2, label="Zoom Out 2x", emoji="🔍"))
    view.add_item(_button(ZOOM_OUT_LESS.custom_id(job_id, index), row=2, label="Zoom Out 1.5x", emoji="🔍"))
    view.add_item(_button(CUSTOM_ZOOM.custom_id(job_id, index), row=2, label="Custom Zoom", emoji="🔍"))
    if not square:
        view.add_item(_button(MAKE_SQUARE.custom_id(job_id, index), row=2, label="Make Square", emoji="↔️"))
    for direction in Direction:
        view.add_item(_button(PAN.custom_id(job_id, index, direction), row=3, emoji=ARROWS[direction]))
    view.add_item(_button(SEND_TO_DM.custom_id(job_id, index), row=4, emoji="📩"))
    view.add_item(_button(DETAILS.custom_id(job_id, index), row=4, emoji="ℹ️"))
    view.add_item(_button(DELETE.custom_id(owner_id), row=4, emoji="🗑️", style=discord.ButtonStyle.danger))
    return view


def suggestions_view(job_id: str, count: int, owner_id: int) -> discord.ui.View:
    """Under a /describe's suggestions, as on Midjourney: 1️⃣–4️⃣ (one per suggestion) and 🔄 (describe again); Imagine
    all (every suggestion) and 🗑️ below them."""
    view = discord.ui.View(timeout=None)
    for index, number in enumerate(NUMBERS[:count], start=1):
        view.add_item(_button(SUGGESTION.custom_id(job_id, index), row=0, emoji=number))
    view.add_item(_button(DESCRIBE_AGAIN.custom_id(job_id), row=0, emoji="🔄"))
    view.add_item(_button(IMAGINE_ALL.custom_id(job_id), row=1, label="Imagine all", emoji="🎉"))
    view.add_item(_button(DELETE.custom_id(owner_id), row=1, emoji="🗑️", style=discord.ButtonStyle.danger))
    return view
