"""Vary (Region): repaint the chosen cells of a 3×3 grid over the image, keep every other pixel.

The inpainting pipeline paints the chosen cells (its mask: the cells, edges on the 8-pixel latent grid); the
result is then laid over the source through a feathered copy of that mask, which ramps from 0 at the cells' edge
to full inside them over FEATHER_FRACTION of the short side. Outside the chosen cells the mask is exactly zero, so
the other cells keep the source's pixels bit for bit, and inside them the new paint fades in instead of ending at
a seam.
"""

from __future__ import annotations

from PIL import Image, ImageFilter

from engine.operations.outpaint import LATENT_CELL
from engine.request import REGION_CELLS
from engine.results import RequestError

# Redraws the cells' content while their colours and layout still guide it, so the repaint sits in the picture
# (a plain text-to-image UNet inpaints by mask blending, which starts poorly from pure noise).
STRENGTH = 0.8
GRID = 3
FEATHER_FRACTION = 1 / 32
MIN_FEATHER = 2


def cell_box(size: tuple[int, int], cell: int) -> tuple[int, int, int, int]:
    """Cell `cell` (0-8, row by row from the top left) as a box (left, top, right, bottom) on the latent grid."""
    if not 0 <= cell < REGION_CELLS:
        raise ValueError(f"cell {cell} is not one of 0 to {REGION_CELLS - 1}")
    xs = _edges(size[0])
    ys = _edges(size[1])
    row, column = divmod(cell, GRID)
    return xs[column], ys[row], xs[column + 1], ys[row + 1]


def _edges(length: int) -> list[int]:
    return [round(length * k / GRID / LATENT_CELL) * LATENT_CELL for k in range(GRID)] + [length]


def masks(size: tuple[int, int], cells: tuple[int, ...]) -> tuple[Image.Image, Image.Image]:
    """The pipeline's mask (white on the chosen cells) and the keep mask the result is laid over the source with
    (white = the source's pixel, exactly; a ramp inside the chosen cells' edges; black = the new paint)."""
    paint = Image.new("L", size, 0)
    for cell in cells:
        paint.paste(255, cell_box(size, cell))
    if paint.getbbox() is None:
        raise RequestError(f"The chosen cells are empty at {size[0]}×{size[1]}; this image is too small to vary.")
    radius = max(MIN_FEATHER, round(min(size) * FEATHER_FRACTION / 2))
    # Shrinking by `radius` and then box-blurring by `radius` puts the whole ramp inside the cells: zero outside.
    feathered = paint.filter(ImageFilter.MinFilter(2 * radius + 1)).filter(ImageFilter.BoxBlur(radius))
    keep = feathered.point(lambda value: 255 - value)
    return paint, keep
