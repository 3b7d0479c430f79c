"""Saved PNGs: grid layout, embedded records, and reproducing an image from its file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from engine.outputs import make_grid, read_record, save_result
from engine.request import MAX_SEED, GenerationRequest
from tests.engine.conftest import pixels


def solid(colour, size=(24, 16)) -> Image.Image:
    return Image.new("RGB", size, colour)


def test_grid_of_four_is_two_by_two_and_tile_i_is_image_i():
    images = [solid(c) for c in ("red", "green", "blue", "white")]
    grid = make_grid(images)
    assert grid.size == (48, 32)
    for index, image in enumerate(images):
        x, y = (index % 2) * 24, (index // 2) * 16
        assert np.array_equal(pixels(grid.crop((x, y, x + 24, y + 16))), pixels(image))


def test_grid_of_one_is_the_image_itself():
    image = solid("red")
    assert np.array_equal(pixels(make_grid([image])), pixels(image))


def test_saved_files_carry_a1111_parameters_and_our_record(engine, tmp_path):
    request = GenerationRequest(prompt="a blue star", negative_prompt="red", seed=42, count=4, steps=2)
    result = engine.run(request)
    saved = save_result(result, tmp_path, job_id="JOB123")
    assert saved.grid == tmp_path / "grid.png"
    assert [path.name for path in saved.images] == ["1.png", "2.png", "3.png", "4.png"]

    with Image.open(saved.images[2]) as third:
        parameters = third.text["parameters"]
        record = json.loads(third.text["imagine"])
        assert np.array_equal(pixels(third), pixels(result.images[2]))
    model = engine.model().name
    assert parameters == (
        "a blue star\nNegative prompt: red\n"
        f"Steps: 2, Sampler: Euler, CFG scale: 7, Seed: 44, Size: 64x64, Model: {model}"
    )
    assert record["job_id"] == "JOB123" and record["index"] == 2 and record["seed"] == 44
    assert record["batch_size"] == 4 and record["slot"] == 2
    assert record["model"] == model and record["dtype"] == "float32" and record["device"] == "cpu"
    assert record["scheduler"] == "EulerDiscreteScheduler" and set(record["versions"]) >= {"torch", "diffusers"}
    assert GenerationRequest.model_validate(record["request"]) == result.request


def test_read_record_gives_a_request_that_reproduces_the_image_bit_exactly(engine, tmp_path):
    result = engine.run(GenerationRequest(prompt="a green ring", seed=7, count=4, steps=2, chaos=30))
    saved = save_result(result, tmp_path)
    replay, index, record = read_record(saved.images[3])
    assert index == 3 and (replay.seed, replay.count, replay.replay_batch, replay.replay_slot) == (10, 1, 4, 3)
    again = engine.run(replay)
    assert np.array_equal(pixels(again.images[0]), pixels(result.images[3]))

    job_request, grid_index, _ = read_record(saved.grid)
    assert grid_index is None and job_request == result.request


def test_a_job_seeded_at_the_top_of_the_range_can_reproduce_every_image(engine, tmp_path):
    result = engine.run(GenerationRequest(prompt="a red star", seed=MAX_SEED, count=2, steps=2))
    assert result.seeds == [MAX_SEED, 0]
    saved = save_result(result, tmp_path)
    replay, index, _ = read_record(saved.images[1])
    assert index == 1 and replay.seed == 0
    assert np.array_equal(pixels(engine.run(replay).images[0]), pixels(result.images[1]))


def test_read_record_refuses_a_damaged_record_with_a_clear_message(tmp_path):
    path = tmp_path / "damaged.png"
    metadata = PngInfo()
    metadata.add_text("imagine", json.dumps({"request": {"prompt": "x"}}))
    solid("red").save(path, pnginfo=metadata)
    with pytest.raises(ValueError, match="damaged 'imagine' record"):
        read_record(path)


@pytest.mark.parametrize("format", ["BMP", "TIFF", "EPS"])
def test_read_record_reads_pngs_only(tmp_path, format):
    """Only a PNG carries a record; a file of another format is refused (exit 2 from the CLI), never parsed by
    that format's decoder (an EPS would reach Ghostscript once its pixels were read)."""
    path = tmp_path / "grid.png"
    solid("red").save(path, format=format)
    with pytest.raises(ValueError, match="cannot be opened as a PNG image"):
        read_record(path)


def test_read_record_explains_a_png_without_a_record(tmp_path):
    path = tmp_path / "foreign.png"
    solid("red").save(path)
    try:
        read_record(path)
    except ValueError as error:
        assert "no 'imagine' record" in str(error)
    else:
        raise AssertionError("a PNG without a record was accepted")
