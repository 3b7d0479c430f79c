"""Score a model on held-out captions: `python -m engine.training.evaluate --model DIR`.

The captions combine words the training split never shows together (see data.HELD_OUT_*). Images come
from the standard `StableDiffusionPipeline`, the same code path the bot uses, and the pixel judge scores
colour, shape and position. `--ground-truth` scores the data generator's own drawings instead, which
checks the judge itself (it should be close to 100 %).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, EulerDiscreteScheduler, StableDiffusionPipeline
from PIL import Image
from tqdm import tqdm

from engine.training.data import (
    HELD_OUT_COLOUR_POSITION,
    HELD_OUT_SHAPE_COLOUR,
    POSITION_PHRASES,
    POSITIONS,
    SHAPES,
    SIZES,
    Background,
    Scene,
    SceneObject,
    Split,
    object_phrase,
    render,
    sample_scene,
)
from engine.training.judge import score

EVAL_SEEDS = (0, 1, 2, 3)
EVAL_STEPS = 25
EVAL_GUIDANCE = 5.0
NEUTRAL_BACKGROUNDS = ("white", "black")
EVAL_SCENE_SEED = 10**9  # far from any seed a training run reaches
SAMPLERS = {"ddim": DDIMScheduler, "euler": EulerDiscreteScheduler}


def held_out_scenes() -> list[Scene]:
    """Single-object captions whose (shape, colour) or (colour, position) pair is never trained on."""
    positions = list(POSITIONS)
    cases = []
    for index, (shape, colour) in enumerate(sorted(HELD_OUT_SHAPE_COLOUR)):
        for offset in (0, 4):
            cases.append((shape, colour, positions[(index * 2 + offset) % len(positions)]))
    for index, (colour, position) in enumerate(sorted(HELD_OUT_COLOUR_POSITION)):
        shapes = [shape for shape in SHAPES if (shape, colour) not in HELD_OUT_SHAPE_COLOUR]
        for offset in (0, 2):
            cases.append((shapes[(index + offset) % len(shapes)], colour, position))
    scenes = []
    for index, (shape, colour, position) in enumerate(cases):
        x, y = POSITIONS[position]
        obj = SceneObject(shape, colour, "medium", x, y, SIZES["medium"], position)
        background_colour = NEUTRAL_BACKGROUNDS[index % 2] if colour not in NEUTRAL_BACKGROUNDS else "blue"
        background = Background((background_colour,), named=index % 3 != 0)
        caption = f"{object_phrase(obj)} {POSITION_PHRASES[position][0]}"
        if background.named:
            caption += f" on a {background_colour} background"
        scenes.append(Scene((obj,), background, caption))
    return scenes


def seen_scenes(count: int = 20) -> list[Scene]:
    """Single-object training-split captions with a named position, for comparison with held-out ones."""
    scenes = (sample_scene(seed, Split.TRAIN) for seed in itertools.count(EVAL_SCENE_SEED))
    named = (scene for scene in scenes if len(scene.objects) == 1 and scene.objects[0].position is not None)
    return list(itertools.islice(named, count))


@dataclass(frozen=True)
class Report:
    images: int
    colour_accuracy: float
    shape_accuracy: float
    position_accuracy: float
    diversity: float  # mean absolute pixel difference between seeds of one caption, 0..1
    grid_seconds: float | None  # wall time of one 4-image 25-step grid at the native size
    grid_cpu_seconds: float | None  # CPU time of that grid over all threads: comparable on a busy machine


def mean_pairwise_distance(images: list[Image.Image]) -> float:
    arrays = [np.asarray(image, dtype=np.float32) / 255.0 for image in images]
    return float(np.mean([np.abs(a - b).mean() for a, b in itertools.combinations(arrays, 2)]))


def summarise(
    scenes: list[Scene], images_per_scene: list[list[Image.Image]], grid_seconds: tuple[float, float] | None
) -> Report:
    scores = [
        score(image, scene.objects[0])
        for scene, images in zip(scenes, images_per_scene, strict=False)
        for image in images
    ]
    diversity = [mean_pairwise_distance(images) for images in images_per_scene if len(images) > 1]
    return Report(
        images=len(scores),
        colour_accuracy=float(np.mean([s.colour for s in scores])),
        shape_accuracy=float(np.mean([s.shape for s in scores])),
        position_accuracy=float(np.mean([s.position for s in scores])),
        diversity=float(np.mean(diversity)) if diversity else 0.0,
        grid_seconds=grid_seconds[0] if grid_seconds else None,
        grid_cpu_seconds=grid_seconds[1] if grid_seconds else None,
    )


def load_pipeline(model: Path, sampler: str | None = None) -> StableDiffusionPipeline:
    """The folder's own scheduler, or SAMPLERS[sampler] built from its config (as the engine does)."""
    pipeline = StableDiffusionPipeline.from_pretrained(model)
    if sampler is not None:
        pipeline.scheduler = SAMPLERS[sampler].from_config(pipeline.scheduler.config)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def generate(
    pipeline: StableDiffusionPipeline,
    caption: str,
    seeds=EVAL_SEEDS,
    steps: int = EVAL_STEPS,
    guidance: float = EVAL_GUIDANCE,
) -> list[Image.Image]:
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    return pipeline(
        [caption] * len(seeds), num_inference_steps=steps, guidance_scale=guidance, generator=generators
    ).images


def time_grid(pipeline: StableDiffusionPipeline, guidance: float) -> tuple[float, float]:
    """(wall, CPU) seconds for one grid, after a warm-up run."""
    generate(pipeline, "a red circle", guidance=guidance)
    wall, cpu = time.perf_counter(), time.process_time()
    generate(pipeline, "a small green star left of a large red square", guidance=guidance)
    return time.perf_counter() - wall, time.process_time() - cpu


CAPTION_SETS = {"held-out": held_out_scenes, "seen": seen_scenes}


def evaluate_model(
    model: Path,
    guidance: float = EVAL_GUIDANCE,
    sampler: str | None = None,
    samples: Path | None = None,
    captions: str = "held-out",
) -> Report:
    pipeline = load_pipeline(model, sampler)
    scenes = CAPTION_SETS[captions]()
    images = [generate(pipeline, scene.caption, guidance=guidance) for scene in tqdm(scenes, desc="captions")]
    if samples is not None:
        save_sample_sheet(images, samples)
    return summarise(scenes, images, time_grid(pipeline, guidance))


def evaluate_ground_truth(captions: str = "held-out") -> Report:
    scenes = CAPTION_SETS[captions]()
    return summarise(scenes, [[render(scene)] for scene in scenes], None)


def save_sample_sheet(images_per_scene: list[list[Image.Image]], path: Path) -> None:
    width = max(len(images) for images in images_per_scene)
    size = images_per_scene[0][0].width
    sheet = Image.new("RGB", (width * size, len(images_per_scene) * size))
    for row, images in enumerate(images_per_scene):
        for column, image in enumerate(images):
            sheet.paste(image, (column * size, row * size))
    sheet.save(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=Path, help="a diffusers StableDiffusionPipeline folder")
    source.add_argument("--ground-truth", action="store_true", help="judge the data generator's drawings")
    parser.add_argument("--guidance", type=float, default=EVAL_GUIDANCE)
    parser.add_argument("--captions", choices=sorted(CAPTION_SETS), default="held-out")
    parser.add_argument("--sampler", choices=sorted(SAMPLERS), help="default: the folder's own scheduler")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    parser.add_argument("--samples", type=Path, help="save a PNG sheet of every generated image here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.ground_truth:
        report = evaluate_ground_truth(args.captions)
    else:
        report = evaluate_model(args.model, args.guidance, args.sampler, args.samples, args.captions)
    print(json.dumps(asdict(report), indent=2))


if __name__ == "__main__":
    main()
