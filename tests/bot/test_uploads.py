"""Fitting images under the upload cap without touching the PNG."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from bot.uploads import UnreadableImage, UploadTooLarge, decode, fit_png

MAX_PIXELS = 1024 * 1024


def noisy_png(size: int = 96) -> bytes:
    rng = random.Random(0)
    image = Image.frombytes("RGB", (size, size), bytes(rng.randrange(256) for _ in range(size * size * 3)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_png_that_fits_goes_out_unchanged() -> None:
    png = noisy_png()
    upload = fit_png(png, "grid", len(png), MAX_PIXELS)
    assert upload.filename == "grid.png" and upload.data == png


def test_a_png_over_the_limit_becomes_a_smaller_lossy_file() -> None:
    png = noisy_png()
    upload = fit_png(png, "grid", len(png) // 2, MAX_PIXELS)
    assert upload.filename.endswith((".webp", ".jpg")) and len(upload.data) <= len(png) // 2
    assert Image.open(io.BytesIO(upload.data)).size == (96, 96)


def test_nothing_fits_a_tiny_limit_and_the_message_says_why() -> None:
    with pytest.raises(UploadTooLarge, match="upload limit"):
        fit_png(noisy_png(), "grid", 100, MAX_PIXELS)


@pytest.mark.parametrize(
    "side, refusal",
    [(8_000, "8000×8000, larger than any image the bot makes"), (60_000, r"cannot be opened \(DecompressionBomb")],
)
def test_an_image_larger_than_the_bot_makes_is_refused_from_its_header_without_decoding_it(side, refusal) -> None:
    """Decompression bombs: small files that would decode into gigabytes (64 megapixels: past the bot's own
    limit; 3.6 gigapixels: past Pillow's too)."""
    bomb = io.BytesIO()
    Image.new("1", (side, side)).save(bomb, format="PNG")
    with pytest.raises(UnreadableImage, match=refusal):
        fit_png(bomb.getvalue(), "grid", 1000, MAX_PIXELS)


def test_a_damaged_image_is_named_as_such() -> None:
    with pytest.raises(UnreadableImage, match="cannot be opened"):
        fit_png(b"\x89PNG\r\n\x1a\n" + b"\0" * 5000, "grid", 100, MAX_PIXELS)


def test_a_phone_photo_stored_sideways_is_read_upright() -> None:
    sideways = Image.new("RGB", (96, 64), "white")
    sideways.paste((255, 0, 0), (0, 0, 8, 64))  # red down its left edge, which is the top once turned
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90° clockwise to view
    buffer = io.BytesIO()
    sideways.save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)
    upright = decode(buffer.getvalue(), 96 * 64)
    assert upright.size == (64, 96)
    red, green, _ = upright.getpixel((32, 2))
    assert red > 200 and green < 60


def test_a_malformed_orientation_leaves_the_pixels_as_stored() -> None:
    exif = Image.Exif()
    exif[0x0112] = 99  # no such orientation
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), "white").save(buffer, format="JPEG", exif=exif.tobytes())
    assert decode(buffer.getvalue(), 96 * 64).size == (96, 64)
