"""Variation: image-to-image from the source with new seeds, at the source's size.

Strong (0.6) keeps the composition and colours but redraws most detail; subtle (0.3) keeps
nearly everything and changes small details.
"""

from __future__ import annotations

from engine.operations.sizes import snap

STRENGTHS = {"strong": 0.6, "subtle": 0.3}


def output_size(source_size: tuple[int, int], multiple: int) -> tuple[int, int]:
    width, height = source_size
    return snap(width, multiple), snap(height, multiple)
