"""Turn an aspect ratio into a pixel size the model can draw, and an image's pixel size back into a short ratio.

Pure Python so the bot can tell a user the size they will get before a job is queued.
Models draw best near the area they were trained at (native²), so every aspect keeps that area;
the VAE and UNet need sides divisible by `multiple`; `max_pixels` caps memory per image.
"""

from __future__ import annotations

import math
from functools import cache

from engine.request import MAX_ASPECT_RATIO

# A ratio read off an image has terms at most this large: people type 3:2, 16:9, 4:5, 7:3, not 1000:667.
MAX_RATIO_TERM = 16
# How far (relatively) a simpler ratio may be from the image's own shape and still stand for it. The sizes
# `fit_size` makes are multiples of 8 or 64 pixels, so a 1% different ratio draws much the same picture.
RATIO_TOLERANCE = 0.01


def fit_size(aspect: tuple[int, int], native: int, multiple: int, max_pixels: int) -> tuple[int, int]:
    """(width, height) with area close to native², the given aspect, sides multiples of
    `multiple` and width * height <= max_pixels; no side is ever below `multiple`."""
    aspect_w, aspect_h = aspect
    if aspect_w < 1 or aspect_h < 1 or native < 1 or multiple < 1:
        raise ValueError(f"aspect sides, native and multiple must be positive (got {aspect}, {native}, {multiple})")
    if max_pixels < multiple * multiple:
        raise ValueError(f"max_pixels {max_pixels} is below one {multiple}x{multiple} tile")

    area = min(native * native, max_pixels)
    ideal_w = math.sqrt(area * aspect_w / aspect_h)
    ideal_h = math.sqrt(area * aspect_h / aspect_w)

    width, height = _to_multiple(ideal_w, multiple, round), _to_multiple(ideal_h, multiple, round)
    if width * height > max_pixels:
        width = _to_multiple(ideal_w, multiple, math.floor)
        height = _to_multiple(ideal_h, multiple, math.floor)
    # Still over budget only when a thin side was raised to `multiple`: shorten the long side.
    if width * height > max_pixels:
        if width >= height:
            width = max_pixels // (height * multiple) * multiple
        else:
            height = max_pixels // (width * multiple) * multiple
    return width, height


def _to_multiple(length: float, multiple: int, rounding) -> int:
    return max(multiple, int(rounding(length / multiple)) * multiple)


def aspect_of(width: int, height: int) -> tuple[int, int]:
    """The shape of a width×height image as --ar writes it, reduced: its own ratio when both terms are at most
    MAX_RATIO_TERM (1920×1080 → 16:9); else the one with the smallest terms within RATIO_TOLERANCE (1000×667 →
    3:2); else the closest with terms that small. Shapes past MAX_ASPECT_RATIO give its bound (5000×1000 → 4:1);
    a square gives 1:1."""
    if width < 1 or height < 1:
        raise ValueError(f"an image's sides must be positive (got {width}×{height})")
    if height > width:  # one rule for both orientations, so a portrait is its landscape turned
        return aspect_of(height, width)[::-1]
    divisor = math.gcd(width, height)
    exact = (width // divisor, height // divisor)
    if exact[0] <= MAX_RATIO_TERM and exact[0] <= MAX_ASPECT_RATIO * exact[1]:
        return exact
    shape = min(math.log(width / height), math.log(MAX_ASPECT_RATIO))
    within = math.log1p(RATIO_TOLERANCE) + 1e-12  # exactly 1% off counts (303×330 is 10:11 to the digit)
    close = [ratio for ratio in _landscape_ratios() if _distance(ratio, shape) <= within]
    if close:
        return min(close, key=lambda ratio: (ratio[0], _distance(ratio, shape)))
    return min(_landscape_ratios(), key=lambda ratio: _distance(ratio, shape))


@cache
def _landscape_ratios() -> tuple[tuple[int, int], ...]:
    """Every reduced W:H from 1:1 to MAX_ASPECT_RATIO:1 with terms at most MAX_RATIO_TERM."""
    terms = range(1, MAX_RATIO_TERM + 1)
    return tuple((w, h) for w in terms for h in terms if h <= w <= MAX_ASPECT_RATIO * h and math.gcd(w, h) == 1)


def _distance(ratio: tuple[int, int], shape: float) -> float:
    """How far a ratio is from a shape given as log(width / height): the same for too wide and too narrow."""
    return abs(math.log(ratio[0] / ratio[1]) - shape)
