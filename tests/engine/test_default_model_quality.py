"""The committed default model follows simple prompts, through the same pipeline as any hub model.

The `engine` fixture (tests/engine/conftest.py) loads the default model, which is these weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import AutoPipelineForText2Image, StableDiffusionPipeline
from PIL import Image

from engine.default_model import DEFAULT_MODEL_FOLDER
from engine.outputs import save_result
from engine.request import GenerationRequest
from engine.training.evaluate import generate, mean_pairwise_distance
from engine.training.judge import judge_image

MAX_WEIGHTS_BYTES = 20 * 1024 * 1024
STEPS = 12


@pytest.fixture(scope="module")
def pipeline() -> StableDiffusionPipeline:
    torch.set_num_threads(1)
    loaded = AutoPipelineForText2Image.from_pretrained(DEFAULT_MODEL_FOLDER)
    loaded.set_progress_bar_config(disable=True)
    return loaded


def test_weights_are_a_standard_stable_diffusion_folder_of_modest_size(pipeline):
    assert isinstance(pipeline, StableDiffusionPipeline)
    assert pipeline.safety_checker is None
    size = sum(path.stat().st_size for path in DEFAULT_MODEL_FOLDER.rglob("*") if path.is_file())
    assert size <= MAX_WEIGHTS_BYTES


@pytest.mark.parametrize("colour", ["red", "blue"])
def test_a_coloured_prompt_gives_objects_of_that_colour(pipeline, colour):
    images = generate(
        pipeline, f"a large {colour} circle in the centre on a white background", seeds=(0, 1), steps=STEPS
    )
    assert [judge_image(image).colour for image in images] == [colour, colour]


@pytest.mark.parametrize("shape", ["square", "triangle", "star", "ring"])
def test_a_shape_prompt_gives_that_shape(pipeline, shape):
    images = generate(pipeline, f"a large green {shape} in the centre on a black background", seeds=(0, 1), steps=STEPS)
    assert [judge_image(image).shape for image in images] == [shape, shape]


def test_different_seeds_give_different_images(pipeline):
    images = generate(pipeline, "a green square", seeds=(0, 1, 2), steps=STEPS)
    assert mean_pairwise_distance(images) > 0.02


def test_the_same_seed_gives_identical_pixels(pipeline):
    first = generate(pipeline, "a yellow star on the left", seeds=(5,), steps=STEPS)[0]
    second = generate(pipeline, "a yellow star on the left", seeds=(5,), steps=STEPS)[0]
    assert np.array_equal(np.asarray(first), np.asarray(second))


@pytest.fixture(scope="module")
def red_and_blue_sources(engine, tmp_path_factory) -> tuple[Path, Path]:
    """A red-circle image made by the default model, and an unrelated blue-square one, as PNGs."""
    folder = tmp_path_factory.mktemp("sources")
    prompts = ("a large red circle in the centre on a white background", "a large blue square on a yellow background")
    paths = []
    for index, prompt in enumerate(prompts):
        result = engine.run(GenerationRequest(prompt=prompt, seed=0, count=1, steps=STEPS))
        paths.append(save_result(result, folder / str(index)).images[0])
    return paths[0], paths[1]


def _distance(a: Image.Image, b: Image.Image) -> float:
    return float(
        np.abs(np.asarray(a.convert("RGB"), dtype=np.int16) - np.asarray(b.convert("RGB"), dtype=np.int16)).mean()
    )


def test_a_variation_stays_close_to_its_source(engine, red_and_blue_sources):
    source, unrelated = red_and_blue_sources
    request = GenerationRequest(
        operation="variation",
        mode="subtle",
        prompt="a large red circle in the centre",
        source_image=str(source),
        seed=7,
        count=2,
        steps=STEPS,
    )
    original = Image.open(source)
    for variation in engine.run(request).images:
        assert _distance(variation, original) < _distance(Image.open(unrelated), original) / 2
        assert judge_image(variation).colour == "red"


def test_an_upscale_downsampled_matches_its_source(engine, red_and_blue_sources):
    source, unrelated = red_and_blue_sources
    request = GenerationRequest(
        operation="upscale",
        prompt="a large red circle in the centre",
        source_image=str(source),
        seed=7,
        count=1,
        steps=STEPS,
    )
    upscaled = engine.run(request).images[0]
    original = Image.open(source)
    assert upscaled.size == (2 * original.width, 2 * original.height)
    shrunk = upscaled.resize(original.size, Image.Resampling.LANCZOS)
    assert _distance(shrunk, original) < _distance(Image.open(unrelated), original) / 4
