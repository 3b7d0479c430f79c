"""Zoom out and pan: outpainting with the inpainting pipeline over the text-to-image weights.

Zoom out keeps the source's size (within the pixel budget): by 2× (the default) the source shrinks to the centre
half and the ring around it is painted, by 1.5× to the centre two thirds. With a canvas shape (Custom Zoom's
--ar, Make Square) the canvas takes that shape at the source's pixel count, and the source, shrunk by the factor
from the largest size that fits the canvas, sits in its centre (Make Square: factor 1, the short sides are
painted). Pan extends the canvas by half the source in one direction and paints that strip; if the result would
exceed the pixel budget, the source is scaled down first. Both paste the source pixels back afterwards, so the
known area stays exactly as it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageFilter

from engine.budgets import fit_within
from engine.operations.sizes import snap, snap_down, snap_up
from engine.request import Direction
from engine.results import RequestError
from engine.sizing import fit_size

STRENGTH = 1.0
# The first Zoom Out button's factor, and what a stored zoom without one used.
DEFAULT_ZOOM = 2.0
BACKDROP_BLUR = 8
# Edges on the VAE's 8-pixel latent grid, so the latent mask covers exactly the painted area.
LATENT_CELL = 8


@dataclass(frozen=True)
class Layout:
    canvas: tuple[int, int]
    box: tuple[int, int, int, int]
    """Where the (resized) source goes on the canvas: x, y, width, height."""


def zoom_layout(
    source_size: tuple[int, int],
    factor: float,
    canvas_aspect: tuple[int, int] | None,
    multiple: int,
    max_pixels: int,
) -> Layout:
    """The canvas keeps the source's size (scaled down first if that is past `max_pixels`), or its pixel count in
    `canvas_aspect`; the source shrinks by `factor` into its centre. RequestError when nothing is left to paint."""
    width, height = fit_within((snap(source_size[0], multiple), snap(source_size[1], multiple)), max_pixels, multiple)
    if canvas_aspect is None:
        inner_w, inner_h = snap(width / factor, LATENT_CELL), snap(height / factor, LATENT_CELL)
    else:
        width, height = fit_size(canvas_aspect, round(math.sqrt(width * height)), multiple, max_pixels)
        scale = min(width / source_size[0], height / source_size[1]) / factor
        inner_w = min(snap(source_size[0] * scale, LATENT_CELL), width)
        inner_h = min(snap(source_size[1] * scale, LATENT_CELL), height)
    if (inner_w, inner_h) == (width, height):
        raise RequestError(
            f"Zooming out {factor:g}× at this shape leaves nothing to paint around the image; choose a larger "
            "factor or another aspect ratio."
        )
    x = (width - inner_w) // 2 // LATENT_CELL * LATENT_CELL
    y = (height - inner_h) // 2 // LATENT_CELL * LATENT_CELL
    return Layout((width, height), (x, y, inner_w, inner_h))


def pan_layout(source_size: tuple[int, int], direction: Direction, multiple: int, max_pixels: int) -> Layout:
    width, height = snap(source_size[0], multiple), snap(source_size[1], multiple)
    horizontal = direction in (Direction.LEFT, Direction.RIGHT)
    scale = min(1.0, math.sqrt(max_pixels / (width * height * 1.5)))
    while True:
        placed_w, placed_h = snap_down(width * scale, multiple), snap_down(height * scale, multiple)
        extra = snap_up((placed_w if horizontal else placed_h) / 2, multiple)
        canvas = (placed_w + extra, placed_h) if horizontal else (placed_w, placed_h + extra)
        # Rounding the strip up can overshoot the budget by a row of cells; shrink until it fits.
        if canvas[0] * canvas[1] <= max_pixels or (placed_w, placed_h) == (multiple, multiple):
            break
        scale *= 0.95
    x = extra if direction is Direction.LEFT else 0
    y = extra if direction is Direction.UP else 0
    return Layout(canvas, (x, y, placed_w, placed_h))


def canvas_and_mask(source: Image.Image, layout: Layout) -> tuple[Image.Image, Image.Image, Image.Image]:
    """The starting canvas (a blurred stretch of the source behind it, so colours carry on),
    the mask (white = paint) and the source as placed."""
    x, y, width, height = layout.box
    placed = source.resize((width, height), Image.LANCZOS)
    canvas = source.resize(layout.canvas, Image.BILINEAR).filter(ImageFilter.GaussianBlur(BACKDROP_BLUR))
    canvas.paste(placed, (x, y))
    mask = Image.new("L", layout.canvas, 255)
    mask.paste(0, (x, y, x + width, y + height))
    return canvas, mask, placed
