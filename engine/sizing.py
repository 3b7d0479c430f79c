"""Turn an aspect ratio into a pixel size the model can draw.

Pure Python so the bot can tell a user the size they will get before a job is queued.
Models draw best near the area they were trained at (native²), so every aspect keeps that area;
the VAE and UNet need sides divisible by `multiple`; `max_pixels` caps memory per image.
"""

from __future__ import annotations

import math


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
