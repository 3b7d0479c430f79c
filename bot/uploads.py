"""Fit an image under Discord's upload cap: the PNG when it fits, else WebP, else JPEG.

The PNG on disk is never touched, so the lossless original (with its metadata) stays available. The
PNG that is uploaded carries only the A1111 `parameters` and the job id (`engine.outputs.public_png`,
chunk by chunk, the pixels untouched); the WebP and JPEG fallbacks carry no metadata at all.
Re-encoding decodes the image, so it runs off the event loop (`ImageEncoder`), a few at a time, and
never for an image larger than any the bot makes (a crafted or damaged file is refused from its header).

`decode` is also how a member's image (an image prompt, /describe) is read, so it opens only the formats it
is told — a member's bytes as PNG, JPEG, WebP or GIF, the bot's own grids as PNG — recognised by their first
bytes, never by a name or a declared content type: Pillow knows dozens of other formats (BMP, TIFF, ICO,
PSD, EPS, which it hands to Ghostscript …), and none of their decoders is ever given a member's bytes.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

import discord
from PIL import Image, ImageDraw, ImageFont, ImageOps
from PIL.PngImagePlugin import PngInfo

from engine.outputs import JOB_CHUNK, PARAMETERS_CHUNK, RECORD_CHUNK, public_png

# Tried in order after the PNG; each is smaller than the one before for photographic content.
FALLBACK_ENCODINGS: tuple[tuple[str, str, int], ...] = (
    ("WEBP", "webp", 90),
    ("WEBP", "webp", 75),
    ("JPEG", "jpg", 90),
    ("JPEG", "jpg", 75),
    ("JPEG", "jpg", 50),
)

# A withheld image's place in a grid: a flat neutral grey, with a word when the tile is large enough to read it.
PLACEHOLDER_FILL = (128, 128, 128)
PLACEHOLDER_TEXT = "withheld"
PLACEHOLDER_INK = (224, 224, 224)

# What a member's image may be; anything else is refused before Pillow sees it. An animated GIF or WebP is
# read as its first frame.
MEMBER_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "GIF")
# How each format's file starts (Pillow's own test for it); the one that matches is the only decoder tried.
_SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "PNG": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    "JPEG": lambda head: head.startswith(b"\xff\xd8\xff"),
    "WEBP": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
    "GIF": lambda head: head[:6] in (b"GIF87a", b"GIF89a"),
}
_FORMAT_NAMES = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP", "GIF": "GIF"}

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
    spoiler: bool = False
    """Sent behind Discord's spoiler cover (the server's content policy for a flagged image)."""

    def to_file(self) -> discord.File:
        return discord.File(io.BytesIO(self.data), filename=self.filename, spoiler=self.spoiler)


def fit_png(png: bytes, stem: str, limit: int, max_pixels: int) -> Upload:
    try:
        png = public_png(png)
    except ValueError as error:
        raise UnreadableImage(f"the image cannot be opened ({error})") from None
    if len(png) <= limit:
        return Upload(f"{stem}.png", png)
    rgb = decode(png, max_pixels, formats=("PNG",))
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


def withhold(png: bytes, cells: list[tuple[int, int, int, int]], max_pixels: int) -> bytes:
    """The grid with each of `cells` (left, top, width, height) covered by a placeholder, as a PNG that carries
    what `public_png` keeps: the A1111 `parameters` and the job id."""
    rgb = decode(png, max_pixels, formats=("PNG",))
    with Image.open(io.BytesIO(png), formats=("PNG",)) as original:
        text = dict(original.text)
    draw = ImageDraw.Draw(rgb)
    for left, top, width, height in cells:
        draw.rectangle((left, top, left + width - 1, top + height - 1), fill=PLACEHOLDER_FILL)
        font = _font(max(8, width // 8))
        x0, y0, x1, y1 = draw.textbbox((0, 0), PLACEHOLDER_TEXT, font=font)
        if x1 - x0 < width * 0.9 and y1 - y0 < height * 0.9:
            at = (left + (width - (x1 - x0)) / 2 - x0, top + (height - (y1 - y0)) / 2 - y0)
            draw.text(at, PLACEHOLDER_TEXT, fill=PLACEHOLDER_INK, font=font)
    info = PngInfo()
    if PARAMETERS_CHUNK in text:
        info.add_text(PARAMETERS_CHUNK, text[PARAMETERS_CHUNK])
    job_id = _job_id(text)
    if job_id:
        info.add_text(JOB_CHUNK, job_id)
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size)
    except (OSError, TypeError, ValueError):  # Pillow built without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _job_id(text: dict[str, str]) -> str | None:
    """The job id from a stored file's record, or from a public copy."""
    if JOB_CHUNK in text:
        return text[JOB_CHUNK]
    try:
        return str(json.loads(text[RECORD_CHUNK])["job_id"] or "") or None
    except (KeyError, ValueError, TypeError):
        return None


def decode(data: bytes, max_pixels: int, formats: tuple[str, ...] = MEMBER_FORMATS) -> Image.Image:
    """The image's pixels as RGB (an animation's first frame), refused (UnreadableImage) unless its first bytes
    are one of `formats`, and from its header when larger than `max_pixels`; only that format's decoder runs."""
    kind = next((name for name in formats if _SIGNATURES[name](data[:16])), None)
    if kind is None:
        raise UnreadableImage(f"its content is not a {accepted(formats)} image, whatever its name or type says")
    try:
        with Image.open(io.BytesIO(data), formats=(kind,)) as image:
            if image.width * image.height > max_pixels:
                raise UnreadableImage(f"the image is {image.width}×{image.height}, larger than any image the bot makes")
            return _upright(image).convert("RGB")
    except (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UnreadableImage(f"the image cannot be opened ({type(error).__name__})") from None


def accepted(formats: tuple[str, ...] = MEMBER_FORMATS) -> str:
    """The formats as a member reads them: "PNG, JPEG, WebP or GIF"."""
    names = [_FORMAT_NAMES[name] for name in formats]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _upright(image: Image.Image) -> Image.Image:
    """Turned as its EXIF orientation says: a phone stores a portrait photo sideways with a tag to turn it."""
    try:
        return ImageOps.exif_transpose(image)
    except (OSError, ValueError, TypeError, KeyError, SyntaxError):  # a malformed EXIF block: the pixels as stored
        return image


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
