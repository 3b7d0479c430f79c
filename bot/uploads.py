"""Fit an image under Discord's upload cap: the PNG when it fits, else WebP, else JPEG.

The PNG on disk is never touched, so the lossless original (with its metadata) stays available.
Re-encoding decodes the image, so it runs off the event loop (`ImageEncoder`), a few at a time, and
never for an image larger than any the bot makes (a crafted or damaged file is refused from its header).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

import discord
from PIL import Image

# Tried in order after the PNG; each is smaller than the one before for photographic content.
FALLBACK_ENCODINGS: tuple[tuple[str, str, int], ...] = (
    ("WEBP", "webp", 90),
    ("WEBP", "webp", 75),
    ("JPEG", "jpg", 90),
    ("JPEG", "jpg", 75),
    ("JPEG", "jpg", 50),
)

P = ParamSpec("P")
T = TypeVar("T")


class UploadTooLarge(Exception):
    """Even the smallest encoding is over the limit; the message names the size and the limit."""


class UnreadableImage(Exception):
    """Damaged, not an image, or larger than any image the bot makes; the message says which."""


@dataclass(frozen=True)
class Upload:
    """Bytes ready to attach; frozen and comparable so unchanged uploads can be detected."""

    filename: str
    data: bytes

    def to_file(self) -> discord.File:
        return discord.File(io.BytesIO(self.data), filename=self.filename)


def fit_png(png: bytes, stem: str, limit: int, max_pixels: int) -> Upload:
    if len(png) <= limit:
        return Upload(f"{stem}.png", png)
    rgb = decode(png, max_pixels)
    for pil_format, extension, quality in FALLBACK_ENCODINGS:
        buffer = io.BytesIO()
        rgb.save(buffer, format=pil_format, quality=quality)
        if buffer.tell() <= limit:
            return Upload(f"{stem}.{extension}", buffer.getvalue())
    raise UploadTooLarge(
        f"the image is {len(png) / 1_048_576:.1f} MiB and even as JPEG does not fit the "
        f"{limit / 1_048_576:.1f} MiB upload limit here"
    )


def fit_file(path: Path, stem: str, limit: int, max_pixels: int) -> Upload:
    try:
        png = Path(path).read_bytes()
    except OSError as error:
        raise UnreadableImage(f"the image file cannot be read ({error.strerror or error})") from None
    return fit_png(png, stem, limit, max_pixels)


def decode(png: bytes, max_pixels: int) -> Image.Image:
    """The image's pixels as RGB, refused (UnreadableImage) from its header when larger than `max_pixels`."""
    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.width * image.height > max_pixels:
                raise UnreadableImage(f"the image is {image.width}×{image.height}, larger than any image the bot makes")
            return image.convert("RGB")
    except (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UnreadableImage(f"the image cannot be opened ({type(error).__name__})") from None


class ImageEncoder:
    """Runs image reading and re-encoding on threads, at most `concurrency` at a time, so a burst of large
    images neither stalls the event loop nor takes every core."""

    def __init__(self, max_pixels: int, concurrency: int) -> None:
        self.max_pixels = max_pixels
        self._slots = asyncio.Semaphore(concurrency)

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._slots:
            return await asyncio.to_thread(function, *args, **kwargs)

    async def fit_file(self, path: Path, stem: str, limit: int) -> Upload:
        return await self.run(fit_file, path, stem, limit, self.max_pixels)
