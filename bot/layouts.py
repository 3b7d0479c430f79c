"""The button layouts under a grid and under a single image (at most 5 rows of 5 buttons)."""

from __future__ import annotations

import discord

from bot.components import (
    DeleteButton,
    DetailsButton,
    PanButton,
    RerollButton,
    SelectImageButton,
    UpscaleButton,
    VaryButton,
    ZoomOutButton,
)
from engine.request import Direction

GRID_BUTTON_IMAGES = 4  # U1–U4 and V1–V4, as Midjourney shows; larger batches still get one grid


def grid_view(job_id: str, image_count: int) -> discord.ui.View:
    """U1–U4 / V1–V4 and 🔄 placed beside the U buttons, as on Midjourney's grids."""
    view = discord.ui.View(timeout=None)
    shown = range(1, min(image_count, GRID_BUTTON_IMAGES) + 1)
    for index in shown:
        view.add_item(SelectImageButton(job_id, index, row=0))
    view.add_item(RerollButton(job_id, row=0))
    for index in shown:
        view.add_item(VaryButton(job_id, index, "strong", label=f"V{index}", row=1))
    return view


def image_view(job_id: str, index: int, owner_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(VaryButton(job_id, index, "strong", row=0))
    view.add_item(VaryButton(job_id, index, "subtle", row=0))
    view.add_item(UpscaleButton(job_id, index, "subtle", row=1))
    view.add_item(UpscaleButton(job_id, index, "creative", row=1))
    view.add_item(ZoomOutButton(job_id, index, row=2))
    for direction in Direction:
        view.add_item(PanButton(job_id, index, direction, row=3))
    view.add_item(DetailsButton(job_id, index, row=4))
    view.add_item(DeleteButton(owner_id, row=4))
    return view
