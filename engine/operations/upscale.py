"""Upscale 2×: Lanczos resize, then a low-strength image-to-image pass at the new size.

The resize gives the size; the diffusion pass re-adds texture. Subtle (0.2) stays faithful,
creative (0.4) invents more detail.
"""

from __future__ import annotations

from engine.budgets import UPSCALE_FACTOR
from engine.operations.sizes import snap

STRENGTHS = {"subtle": 0.2, "creative": 0.4}


def output_size(source_size: tuple[int, int], multiple: int) -> tuple[int, int]:
    width, height = source_size
    return snap(width * UPSCALE_FACTOR, multiple), snap(height * UPSCALE_FACTOR, multiple)
