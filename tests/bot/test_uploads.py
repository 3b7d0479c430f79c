"""Fitting images under the upload cap without touching the PNG."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from bot.uploads import UploadTooLarge, fit_png


def noisy_png(size: int = 96) -> bytes:
    rng = random.Random(0)
    image = Image.frombytes("RGB", (size, size), bytes(rng.randrange(256) for _ in range(size * size * 3)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_png_that_fits_goes_out_unchanged() -> None:
    png = noisy_png()
    upload = fit_png(png, "grid", len(png))
    assert upload.filename == "grid.png" and upload.data == png


def test_a_png_over_the_limit_becomes_a_smaller_lossy_file() -> None:
    png = noisy_png()
    upload = fit_png(png, "grid", len(png) // 2)
    assert upload.filename.endswith((".webp", ".jpg")) and len(upload.data) <= len(png) // 2
    assert Image.open(io.BytesIO(upload.data)).size == (96, 96)


def test_nothing_fits_a_tiny_limit_and_the_message_says_why() -> None:
    with pytest.raises(UploadTooLarge, match="upload limit"):
        fit_png(noisy_png(), "grid", 100)
