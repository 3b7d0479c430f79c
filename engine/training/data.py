"""Procedural caption → image pairs: the default model's whole world.

Every scene is a pure function of an integer seed, drawn on the fly and never stored, so a training run
is reproducible from its seed alone. Shapes are drawn at 4× and downsampled for anti-aliased edges.
Some (shape, colour) and (colour, position) combinations are held out of the training split, so the
evaluation can ask whether the model composes words it has only seen apart.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from PIL import Image, ImageDraw

IMAGE_SIZE = 64
SUPERSAMPLE = 4

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 35),
    "green": (40, 170, 60),
    "blue": (35, 75, 220),
    "yellow": (245, 220, 40),
    "orange": (245, 135, 25),
    "purple": (135, 45, 175),
    "pink": (250, 140, 200),
    "cyan": (45, 205, 225),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
}
SHAPES = ("circle", "square", "triangle", "star", "ring")
# Radius as a fraction of the image side; medium is never named in captions.
SIZES = {"small": 0.13, "medium": 0.19, "large": 0.26}
PAIR_SIZE_SCALE = 0.8
# Named regions: centre of the region as (x, y) fractions of the image.
POSITIONS: dict[str, tuple[float, float]] = {
    "top left": (0.27, 0.27),
    "top": (0.5, 0.27),
    "top right": (0.73, 0.27),
    "left": (0.27, 0.5),
    "centre": (0.5, 0.5),
    "right": (0.73, 0.5),
    "bottom left": (0.27, 0.73),
    "bottom": (0.5, 0.73),
    "bottom right": (0.73, 0.73),
}
POSITION_PHRASES: dict[str, tuple[str, ...]] = {
    "top left": ("in the top left corner", "at the top left"),
    "top": ("at the top",),
    "top right": ("in the top right corner", "at the top right"),
    "left": ("on the left",),
    "centre": ("in the centre", "in the center", "in the middle"),
    "right": ("on the right",),
    "bottom left": ("in the bottom left corner", "at the bottom left"),
    "bottom": ("at the bottom",),
    "bottom right": ("in the bottom right corner", "at the bottom right"),
}
RELATIONS = ("left of", "right of", "above", "below")

HELD_OUT_SHAPE_COLOUR = frozenset(
    {("star", "blue"), ("circle", "yellow"), ("triangle", "purple"), ("square", "pink"), ("ring", "orange")}
)
HELD_OUT_COLOUR_POSITION = frozenset(
    {("red", "top right"), ("green", "bottom left"), ("blue", "centre"), ("yellow", "left"), ("cyan", "bottom")}
)


class Split(StrEnum):
    TRAIN = "train"
    ANY = "any"


@dataclass(frozen=True)
class SceneObject:
    shape: str
    colour: str
    size: str
    x: float  # centre, fraction of the image width
    y: float
    radius: float  # fraction of the image side
    position: str | None = None  # the region named in the caption, if any


@dataclass(frozen=True)
class Background:
    colours: tuple[str, ...]  # one colour: solid; two: a gradient from the first to the second
    vertical: bool = True
    named: bool = False


@dataclass(frozen=True)
class Scene:
    objects: tuple[SceneObject, ...]
    background: Background
    caption: str


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def object_phrase(obj: SceneObject) -> str:
    words = ([obj.size] if obj.size != "medium" else []) + [obj.colour, obj.shape]
    return " ".join([article(words[0])] + words)


def background_phrase(background: Background) -> str:
    if len(background.colours) == 1:
        return f"on {article(background.colours[0])} {background.colours[0]} background"
    first, second = background.colours
    return f"on {article(first)} {first} and {second} gradient"


def is_allowed(obj: SceneObject, split: Split) -> bool:
    if split is Split.ANY:
        return True
    if (obj.shape, obj.colour) in HELD_OUT_SHAPE_COLOUR:
        return False
    return obj.position is None or (obj.colour, obj.position) not in HELD_OUT_COLOUR_POSITION


def _sample_background(rng: random.Random, avoid: set[str]) -> Background:
    choices = [name for name in COLOURS if name not in avoid]
    named = rng.random() < 0.6
    if rng.random() < 0.7:
        return Background((rng.choice(choices),), named=named)
    first, second = rng.sample(choices, 2)
    return Background((first, second), vertical=rng.random() < 0.5, named=named)


def _sample_object(rng: random.Random, split: Split, *, pair: bool) -> SceneObject:
    while True:
        shape, colour = rng.choice(SHAPES), rng.choice(list(COLOURS))
        size = rng.choice(list(SIZES))
        radius = SIZES[size] * (PAIR_SIZE_SCALE if pair else 1.0)
        position = None if pair or rng.random() < 0.25 else rng.choice(list(POSITIONS))
        if position is None:
            x, y = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
        else:
            x, y = (value + rng.uniform(-0.04, 0.04) for value in POSITIONS[position])
        candidate = SceneObject(shape, colour, size, x, y, radius, position)
        if is_allowed(candidate, split):
            return candidate


def _place_pair(rng: random.Random, first: SceneObject, second: SceneObject, relation: str):
    near, far = rng.uniform(0.24, 0.32), rng.uniform(0.68, 0.76)
    across = (rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65))
    along = (near, far) if relation in ("left of", "above") else (far, near)
    if relation in ("left of", "right of"):
        coords = ((along[0], across[0]), (along[1], across[1]))
    else:
        coords = ((across[0], along[0]), (across[1], along[1]))
    return tuple(
        SceneObject(obj.shape, obj.colour, obj.size, x, y, obj.radius)
        for obj, (x, y) in zip((first, second), coords, strict=False)
    )


def sample_scene(seed: int, split: Split = Split.TRAIN) -> Scene:
    """One scene and its caption, fully determined by `seed`."""
    rng = random.Random(seed)
    if rng.random() < 0.65:
        obj = _sample_object(rng, split, pair=False)
        objects = (obj,)
        parts = [object_phrase(obj)]
        if obj.position is not None:
            parts.append(rng.choice(POSITION_PHRASES[obj.position]))
    else:
        first = _sample_object(rng, split, pair=True)
        second = _sample_object(rng, split, pair=True)
        while second.colour == first.colour:
            second = _sample_object(rng, split, pair=True)
        relation = rng.choice(RELATIONS)
        objects = _place_pair(rng, first, second, relation)
        parts = [object_phrase(first), relation, object_phrase(second)]
    background = _sample_background(rng, {obj.colour for obj in objects})
    if background.named:
        parts.append(background_phrase(background))
    return Scene(objects, background, " ".join(parts))


def _background_pixels(background: Background, size: int) -> np.ndarray:
    start = np.array(COLOURS[background.colours[0]], dtype=np.float32)
    end = np.array(COLOURS[background.colours[-1]], dtype=np.float32)
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)
    along = ramp[:, None, None] if background.vertical else ramp[None, :, None]
    pixels = start + (end - start) * along
    return np.broadcast_to(pixels, (size, size, 3)).round().astype(np.uint8)


def _star_points(cx: float, cy: float, radius: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.42
        angle = -np.pi / 2 + i * np.pi / 5
        points.append((cx + r * np.cos(angle), cy + r * np.sin(angle)))
    return points


def _draw_object(draw: ImageDraw.ImageDraw, obj: SceneObject, size: int) -> None:
    cx, cy, r = obj.x * size, obj.y * size, obj.radius * size
    fill = COLOURS[obj.colour]
    if obj.shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif obj.shape == "square":
        half = r * 0.85
        draw.rectangle((cx - half, cy - half, cx + half, cy + half), fill=fill)
    elif obj.shape == "triangle":
        draw.polygon([(cx, cy - r), (cx + r, cy + 0.8 * r), (cx - r, cy + 0.8 * r)], fill=fill)
    elif obj.shape == "star":
        draw.polygon(_star_points(cx, cy, r), fill=fill)
    elif obj.shape == "ring":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=fill, width=max(1, round(r * 0.45)))
    else:
        raise ValueError(f"unknown shape {obj.shape!r}; known shapes: {', '.join(SHAPES)}")


def render(scene: Scene, size: int = IMAGE_SIZE) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.fromarray(_background_pixels(scene.background, big))
    draw = ImageDraw.Draw(image)
    for obj in scene.objects:
        _draw_object(draw, obj, big)
    return image.resize((size, size), Image.Resampling.BOX)


def training_batch(seed: int, step: int, batch_size: int) -> tuple[np.ndarray, list[str]]:
    """Batch `step` of a run: images as float32 NCHW in [-1, 1] and their captions."""
    scenes = [sample_scene(scene_seed(seed, step, i)) for i in range(batch_size)]
    pixels = np.stack([np.asarray(render(scene), dtype=np.float32) for scene in scenes])
    return pixels.transpose(0, 3, 1, 2) / 127.5 - 1.0, [scene.caption for scene in scenes]


def scene_seed(seed: int, step: int, index: int) -> int:
    return (seed * 1_000_003 + step) * 4_096 + index
