"""Pixel-level judge: does an image show the colour, shape and position its caption names?

Plain geometry on a single-object image, no learned model: fit the background as a linear colour ramp
through the border pixels (that covers solid colours and the training gradients), call everything far
from it the object, keep its largest connected piece, then read the object's median colour, its
centroid, and a few shape measures (bounding-box fill, convex-hull solidity, enclosed hole).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from PIL import Image

from engine.training.data import COLOURS, SceneObject

OBJECT_DISTANCE = 48.0  # RGB distance from the fitted background that counts as object
MIN_OBJECT_PIXELS = 6

HOLE_RATIO_RING = 0.1
SOLIDITY_STAR = 0.75
FILL_SQUARE = 0.88
FILL_CIRCLE = 0.65

# How far off the middle a centroid must sit to count as left/right/top/bottom, and how close
# to the middle it must stay when the caption names no side on that axis (fractions of the side).
SIDE_LIMIT = 0.42
MIDDLE_LIMIT = 0.33


@dataclass(frozen=True)
class Verdict:
    colour: str | None
    shape: str | None
    x: float | None  # centroid, fractions of the image side
    y: float | None

    @property
    def found(self) -> bool:
        return self.colour is not None


def _fit_background(pixels: np.ndarray) -> np.ndarray:
    """Least-squares plane per channel through the border, refitted without outliers (the object)."""
    size = pixels.shape[0]
    ys, xs = np.mgrid[0:size, 0:size]
    border = np.zeros((size, size), dtype=bool)
    border[:2, :] = border[-2:, :] = border[:, :2] = border[:, -2:] = True
    design = np.stack([np.ones(size * size), xs.ravel() / size, ys.ravel() / size], axis=1)
    rows = design[border.ravel()]
    values = pixels.reshape(-1, 3)[border.ravel()]
    keep = np.ones(len(rows), dtype=bool)
    for _ in range(3):
        coefficients, *_ = np.linalg.lstsq(rows[keep], values[keep], rcond=None)
        residual = np.linalg.norm(rows @ coefficients - values, axis=1)
        keep = residual < max(np.percentile(residual, 70) * 2.0, 12.0)
    return (design @ coefficients).reshape(size, size, 3)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels = np.zeros(mask.shape, dtype=np.int32)
    best_label, best_size, label = 0, 0, 0
    height, width = mask.shape
    for start in zip(*np.nonzero(mask), strict=False):
        if labels[start]:
            continue
        label += 1
        labels[start] = label
        queue, size = deque([start]), 0
        while queue:
            y, x = queue.popleft()
            size += 1
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not labels[ny, nx]:
                    labels[ny, nx] = label
                    queue.append((ny, nx))
        if size > best_size:
            best_label, best_size = label, size
    return labels == best_label if best_size else np.zeros_like(mask)


def _holes(mask: np.ndarray) -> np.ndarray:
    """Background pixels the object encloses: not reachable from the image border."""
    outside = ~mask
    reachable = np.zeros_like(mask)
    reachable[0, :], reachable[-1, :] = outside[0, :], outside[-1, :]
    reachable[:, 0], reachable[:, -1] = outside[:, 0], outside[:, -1]
    while True:
        grown = reachable.copy()
        grown[1:, :] |= reachable[:-1, :]
        grown[:-1, :] |= reachable[1:, :]
        grown[:, 1:] |= reachable[:, :-1]
        grown[:, :-1] |= reachable[:, 1:]
        grown &= outside
        if (grown == reachable).all():
            return outside & ~reachable
        reachable = grown


def _hull_area(mask: np.ndarray) -> float:
    ys, xs = np.nonzero(mask)
    corners = {
        (x + dx, y + dy) for x, y in zip(xs.tolist(), ys.tolist(), strict=False) for dx in (0, 1) for dy in (0, 1)
    }
    points = sorted(corners)

    def half(sequence):
        chain = []
        for point in sequence:
            while len(chain) >= 2 and _cross(chain[-2], chain[-1], point) <= 0:
                chain.pop()
            chain.append(point)
        return chain[:-1]

    hull = half(points) + half(reversed(points))
    xs_hull, ys_hull = np.array(hull, dtype=float).T
    return 0.5 * abs(np.dot(xs_hull, np.roll(ys_hull, 1)) - np.dot(ys_hull, np.roll(xs_hull, 1)))


def _cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def classify_shape(mask: np.ndarray) -> str:
    filled = mask | _holes(mask)
    area = filled.sum()
    if area >= 12 and _holes(mask).sum() / area > HOLE_RATIO_RING:
        return "ring"
    if area / _hull_area(filled) < SOLIDITY_STAR:
        return "star"
    ys, xs = np.nonzero(filled)
    fill = area / ((xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1))
    if fill > FILL_SQUARE:
        return "square"
    return "circle" if fill > FILL_CIRCLE else "triangle"


def nearest_colour(rgb: np.ndarray) -> str:
    return min(COLOURS, key=lambda name: float(np.linalg.norm(np.array(COLOURS[name]) - rgb)))


def _interior(mask: np.ndarray) -> np.ndarray:
    inner = mask.copy()
    inner[1:, :] &= mask[:-1, :]
    inner[:-1, :] &= mask[1:, :]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return inner if inner.sum() >= 3 else mask


def judge_image(image: Image.Image) -> Verdict:
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    distance = np.linalg.norm(pixels - _fit_background(pixels), axis=2)
    mask = _largest_component(distance > OBJECT_DISTANCE)
    if mask.sum() < MIN_OBJECT_PIXELS:
        return Verdict(None, None, None, None)
    colour = nearest_colour(np.median(pixels[_interior(mask)], axis=0))
    ys, xs = np.nonzero(mask)
    size = pixels.shape[0]
    return Verdict(colour, classify_shape(mask), (xs.mean() + 0.5) / size, (ys.mean() + 0.5) / size)


def in_region(position: str, x: float, y: float) -> bool:
    """Whether a centroid lies in a named region such as "top left", "bottom" or "centre"."""
    words = position.split()
    return _on_axis(x, "left" in words, "right" in words) and _on_axis(y, "top" in words, "bottom" in words)


def _on_axis(value: float, low: bool, high: bool) -> bool:
    if low:
        return value < SIDE_LIMIT
    if high:
        return value > 1 - SIDE_LIMIT
    return MIDDLE_LIMIT < value < 1 - MIDDLE_LIMIT


@dataclass(frozen=True)
class Score:
    colour: bool
    shape: bool
    position: bool


def score(image: Image.Image, expected: SceneObject) -> Score:
    verdict = judge_image(image)
    if not verdict.found:
        return Score(False, False, False)
    position_ok = expected.position is None or in_region(expected.position, verdict.x, verdict.y)
    return Score(verdict.colour == expected.colour, verdict.shape == expected.shape, position_ok)
