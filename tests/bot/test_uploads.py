"""Fitting images under the upload cap without touching the PNG."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from bot.uploads import UnreadableImage, UploadTooLarge, decode, fit_png, withhold

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


def encoded(format: str, size: tuple[int, int] = (32, 24), **options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format=format, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("format", ["BMP", "TIFF", "EPS", "ICO", "PCX"])
def test_a_member_image_in_any_other_format_is_refused_before_pillow_reads_it(format, monkeypatch) -> None:
    """Pillow can read each of these (EPS through Ghostscript); a member's bytes reach none of their decoders."""
    from PIL import EpsImagePlugin

    def no_ghostscript(*args, **kwargs):
        raise AssertionError("Ghostscript was run on a member's file")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", no_ghostscript)
    data = encoded(format)
    assert Image.open(io.BytesIO(data)).format == format  # what an unrestricted open would have read
    with pytest.raises(UnreadableImage, match="its content is not a PNG, JPEG, WebP or GIF image"):
        decode(data, MAX_PIXELS)


@pytest.mark.parametrize("format", ["PNG", "JPEG", "WEBP", "GIF"])
def test_the_four_formats_are_read_and_their_size_checked_from_the_header(format) -> None:
    data = encoded(format)
    assert decode(data, 32 * 24).size == (32, 24)
    with pytest.raises(UnreadableImage, match="32×24, larger than any image the bot makes"):
        decode(data, 32 * 24 - 1)


@pytest.mark.parametrize("format", ["GIF", "WEBP"])
def test_an_animation_is_read_as_its_first_frame(format) -> None:
    frames = [Image.new("RGB", (32, 24), colour) for colour in ((250, 0, 0), (0, 250, 0), (0, 0, 250))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format=format, save_all=True, append_images=frames[1:], duration=100, lossless=True)
    assert Image.open(io.BytesIO(buffer.getvalue())).n_frames == 3
    first = decode(buffer.getvalue(), MAX_PIXELS)
    assert first.size == (32, 24) and first.getpixel((16, 12)) == (250, 0, 0)


def test_the_bots_own_images_are_read_as_png_only() -> None:
    """Grids and tiles are re-encoded (`fit_png`) and covered (`withhold`) through the PNG decoder alone."""
    with pytest.raises(UnreadableImage, match="its content is not a PNG image"):
        decode(encoded("JPEG"), MAX_PIXELS, formats=("PNG",))
    assert decode(encoded("PNG"), MAX_PIXELS, formats=("PNG",)).size == (32, 24)
    covered = withhold(encoded("PNG"), [(0, 0, 16, 24)], MAX_PIXELS)
    assert Image.open(io.BytesIO(covered)).convert("RGB").getpixel((4, 4)) == (128, 128, 128)
    with pytest.raises(UnreadableImage, match="its content is not a PNG image"):
        withhold(encoded("JPEG"), [(0, 0, 16, 24)], MAX_PIXELS)
