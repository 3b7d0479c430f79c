"""Pixel budgets every operation keeps, so no member can make the bot draw (or store) more than the operator
allows: MAX_PIXELS per image for imagine, variation, zoom and pan; UPSCALE_MAX_PIXELS for upscales; no
image wider or taller than 4:1. Pure Python: the bot refuses at the button with the same rules the
engine checks again on every request it runs, stored ones included.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

from PIL import Image

from engine.request import MAX_ASPECT_RATIO, MAX_COUNT, Direction, GenerationRequest, Operation
from engine.results import RequestError

# Upscale and pan factors, shared with engine.operations (which lays the pictures out).
UPSCALE_FACTOR = 2
PAN_GROWTH = 1.5


def megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.2f} MP"


def upscale_refusal(width: int, height: int, upscale_max_pixels: int) -> str | None:
    """Why this image cannot be upscaled 2×, or None when it can."""
    new_width, new_height = width * UPSCALE_FACTOR, height * UPSCALE_FACTOR
    if new_width * new_height <= upscale_max_pixels:
        return None
    return (
        f"This image is {width}×{height}; upscaled it would be {new_width}×{new_height} "
        f"({megapixels(new_width * new_height)}), more than this server's upscale limit of "
        f"{megapixels(upscale_max_pixels)}."
    )


def pan_refusal(width: int, height: int, direction: Direction) -> str | None:
    """Why this image cannot be panned this way (it would pass 4:1), or None when it can."""
    horizontal = direction in (Direction.LEFT, Direction.RIGHT)
    new_width, new_height = (width * PAN_GROWTH, height) if horizontal else (width, height * PAN_GROWTH)
    if max(new_width / new_height, new_height / new_width) <= MAX_ASPECT_RATIO:
        return None
    shape = "wider" if horizontal else "taller"
    return (
        f"Panning {direction.value} again would make the image {shape} than {MAX_ASPECT_RATIO}:1, the most this "
        "bot draws. Pan the other way, or zoom out."
    )


def source_refusal(request: GenerationRequest, source_size: tuple[int, int], upscale_max_pixels: int) -> str | None:
    """Why this image operation cannot run on a source of this size (an upscale past its budget, a pan past
    4:1), or None. The bot asks at the button; the engine asks again before it runs."""
    if request.operation is Operation.UPSCALE:
        return upscale_refusal(*source_size, upscale_max_pixels)
    if request.operation is Operation.PAN:
        return pan_refusal(*source_size, request.direction)
    return None


def fit_within(size: tuple[int, int], max_pixels: int, multiple: int) -> tuple[int, int]:
    """`size` scaled down until it fits `max_pixels`, sides multiples of `multiple`, its aspect kept as
    closely as those allow (then the larger area)."""
    width, height = size
    if width * height <= max_pixels:
        return width, height
    aspect = width / height
    fits = [(multiple, multiple)]  # the smallest image there is, whatever the budget
    # Flooring both scaled sides can cost the shorter one almost a whole multiple (15% of a 5-multiple side):
    # try each side a multiple around its ideal length, and give the other side what the budget leaves.
    ideal_height = math.sqrt(max_pixels / aspect)
    for height in _multiples_near(ideal_height, multiple):
        fits.append((_other_side(height * aspect, max_pixels // height, multiple), height))
    for width in _multiples_near(ideal_height * aspect, multiple):
        fits.append((width, _other_side(width / aspect, max_pixels // width, multiple)))
    fitting = [(w, h) for w, h in fits if w * h <= max_pixels or (w, h) == (multiple, multiple)]
    return min(fitting, key=lambda fit: (round(abs(fit[0] / fit[1] - aspect) / aspect, 3), -fit[0] * fit[1]))


def _multiples_near(length: float, multiple: int) -> list[int]:
    nearest = max(1, round(length / multiple))
    return [count * multiple for count in range(max(1, nearest - 1), nearest + 2)]


def _other_side(ideal: float, most: int, multiple: int) -> int:
    """The multiple nearest `ideal` that is at most `most` (and at least one multiple)."""
    return max(multiple, min(round(ideal / multiple), most // multiple) * multiple)


def check_request(request: GenerationRequest, max_pixels: int, upscale_max_pixels: int) -> None:
    """A resolved request's size within its operation's budget and the aspect limit; RequestError otherwise,
    written for the member (budgets the operator lowered apply to old buttons and stored jobs too)."""
    width, height = request.width, request.height
    budget = upscale_max_pixels if request.operation is Operation.UPSCALE else max_pixels
    if width * height > budget:
        raise RequestError(
            f"This would make {width}×{height} images ({megapixels(width * height)}), more than this server "
            f"allows for {request.operation} ({megapixels(budget)}). Ask for a smaller size."
        )
    if max(width / height, height / width) > MAX_ASPECT_RATIO + 0.5:  # sides snap to the model's size multiple
        raise RequestError(f"This would make {width}×{height} images, past the {MAX_ASPECT_RATIO}:1 aspect limit.")


def largest_image(max_pixels: int, upscale_max_pixels: int) -> int:
    """The most pixels an image this bot wrote can have: a grid of MAX_COUNT images at the budget, or one
    upscale. Nothing larger is ever decoded."""
    return max(max_pixels * MAX_COUNT, upscale_max_pixels)


def limit_decoded_pixels(max_pixels: int, upscale_max_pixels: int) -> None:
    """Set Pillow's decompression-bomb limit on purpose, for this whole process (call it where a process
    starts: the bot, an engine process, the CLI): an image past `largest_image` is refused when opened
    instead of being decoded into gigabytes of memory."""
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    Image.MAX_IMAGE_PIXELS = largest_image(max_pixels, upscale_max_pixels)


def open_checked(path: str | Path, max_pixels: int, formats: tuple[str, ...] | None = None) -> Image.Image:
    """Open an image file after checking, from its header alone, that it has at most `max_pixels` pixels;
    ValueError (written for people) for anything too large, damaged or not an image. `formats` (Pillow's
    names), when given, are the only decoders tried: a file that claims to carry a record is read as a PNG only."""
    name = Path(path).name
    try:
        image = Image.open(path, formats=formats)
    except (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        kind = f"a {' or '.join(formats)} image" if formats else "an image"
        raise ValueError(f"{name} cannot be opened as {kind} ({type(error).__name__})") from None
    if image.width * image.height > max_pixels:
        image.close()
        raise ValueError(f"{name} is {image.width}×{image.height}, larger than any image this bot makes")
    return image
