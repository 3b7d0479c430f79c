"""Snapping sides to the model's size multiple."""

from __future__ import annotations

import math


def snap(length: float, multiple: int) -> int:
    """Nearest multiple of `multiple`, never below one multiple."""
    return max(multiple, round(length / multiple) * multiple)


def snap_down(length: float, multiple: int) -> int:
    return max(multiple, int(length // multiple) * multiple)


def snap_up(length: float, multiple: int) -> int:
    return max(multiple, math.ceil(length / multiple) * multiple)
