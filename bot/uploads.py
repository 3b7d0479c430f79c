"""Fit an image under Discord's upload cap: the PNG when it fits, else WebP, else JPEG.

The PNG on disk is never touched, so the lossless original (with its metadata) stays available.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

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


class UploadTooLarge(Exception):
    """Even the smallest encoding is over the limit; the message names the size and the limit."""


@dataclass(frozen=True)
class Upload:
    """Bytes ready to attach; frozen and comparable so unchanged uploads can be detected."""

    filename: str
    data: bytes

    def to_file(self) -> discord.File:
        return discord.File(io.BytesIO(self.data), filename=self.filename)


def fit_png(png: bytes, stem: str, limit: int) -> Upload:
    if len(png) <= limit:
        return Upload(f"{stem}.png", png)
    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB")
    for pil_format, extension, quality in FALLBACK_ENCODINGS:
        buffer = io.BytesIO()
        rgb.save(buffer, format=pil_format, quality=quality)
        if buffer.tell() <= limit:
            return Upload(f"{stem}.{extension}", buffer.getvalue())
    raise UploadTooLarge(
        f"the image is {len(png) / 1_048_576:.1f} MiB and even as JPEG does not fit the "
        f"{limit / 1_048_576:.1f} MiB upload limit here"
    )


def fit_file(path: Path, stem: str, limit: int) -> Upload:
    return fit_png(Path(path).read_bytes(), stem, limit)
