"""Variation, upscale, zoom out and pan on an image made by the tiny model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from engine.operations.outpaint import pan_layout
from engine.outputs import save_result
from engine.request import Direction, GenerationRequest
from tests.engine.conftest import pixels


@pytest.fixture(scope="module")
def source(engine, tmp_path_factory):
    """A 80×48 (--ar 3:2) image and an unrelated one of the same size, as saved PNGs."""
    folder = tmp_path_factory.mktemp("source")
    result = engine.run(GenerationRequest(prompt="a red circle", seed=3, count=2, aspect=(3, 2)))
    paths = save_result(result, folder).images
    return paths[0], paths[1]


def operate(engine, path, operation, **fields):
    request = GenerationRequest(
        **(
            {"operation": operation, "prompt": "a red circle", "seed": 11, "count": 2, "source_image": str(path)}
            | fields
        )
    )
    return engine.run(request)


def distance(a, b) -> float:
    return float(np.abs(pixels(a) - pixels(b)).mean())


@pytest.mark.parametrize("mode, strength", [("strong", 0.6), ("subtle", 0.3)])
def test_variation_keeps_the_size_and_makes_new_images(engine, source, mode, strength):
    original = Image.open(source[0])
    result = operate(engine, source[0], "variation", mode=mode, steps=10)
    assert result.request.strength == strength
    assert [image.size for image in result.images] == [(80, 48), (80, 48)]
    assert all(distance(image, original) > 0 for image in result.images)
    assert distance(result.images[0], result.images[1]) > 0


def test_variation_resembles_its_source_more_than_another_image(engine, source):
    original, unrelated = (Image.open(path) for path in source)
    for image in operate(engine, source[0], "variation", mode="subtle", steps=20).images:
        assert distance(image, original) < distance(unrelated, original)


def test_upscale_doubles_the_size(engine, source):
    result = operate(engine, source[0], "upscale", count=1, steps=10)
    assert result.request.strength == 0.2
    assert result.images[0].size == (160, 96)
    assert operate(engine, source[0], "upscale", mode="creative", count=1).request.strength == 0.4


def test_upscale_stays_close_to_a_plain_resize(engine, source):
    original, unrelated = (Image.open(path).resize((160, 96), Image.LANCZOS) for path in source)
    upscaled = operate(engine, source[0], "upscale", count=1, steps=20).images[0]
    assert distance(upscaled, original) < distance(unrelated, original)


def test_zoom_out_keeps_the_size_with_the_source_shrunk_into_the_centre(engine, source):
    original = Image.open(source[0])
    zoomed = operate(engine, source[0], "zoom", count=1).images[0]
    assert zoomed.size == (80, 48)
    centre = zoomed.crop((16, 8, 56, 32))
    assert centre.size == (40, 24)
    assert np.array_equal(pixels(centre), pixels(original.resize((40, 24), Image.LANCZOS)))
    assert distance(zoomed, original) > 0


@pytest.mark.parametrize(
    "direction, size, box",
    [
        ("left", (128, 48), (48, 0, 128, 48)),
        ("right", (128, 48), (0, 0, 80, 48)),
        ("up", (80, 80), (0, 32, 80, 80)),
        ("down", (80, 80), (0, 0, 80, 48)),
    ],
)
def test_pan_extends_the_canvas_and_keeps_the_source_where_it_was(engine, source, direction, size, box):
    original = Image.open(source[0])
    panned = operate(engine, source[0], "pan", direction=direction, count=1).images[0]
    assert panned.size == size
    assert np.array_equal(pixels(panned.crop(box)), pixels(original))
    new_area = np.asarray(panned.convert("L"), dtype=float)
    assert new_area.std() > 0


@given(
    source_size=st.tuples(st.integers(8, 2048), st.integers(8, 2048)),
    direction=st.sampled_from(list(Direction)),
    multiple=st.sampled_from([8, 16, 64]),
    max_pixels=st.integers(256 * 256, 2048 * 2048),
)
def test_a_pan_canvas_never_exceeds_the_pixel_budget(source_size, direction, multiple, max_pixels):
    layout = pan_layout(source_size, direction, multiple, max_pixels)
    width, height = layout.canvas
    x, y, placed_w, placed_h = layout.box
    assert width * height <= max_pixels
    assert width % multiple == 0 and height % multiple == 0
    assert x >= 0 and x + placed_w <= width and y >= 0 and y + placed_h <= height
    assert (width, height) != (placed_w, placed_h), "the pan must add a strip to paint"


def test_a_missing_source_image_is_a_clear_request_error(engine, tmp_path):
    from engine.engine import RequestError

    with pytest.raises(RequestError, match="The source image cannot be used: gone.png cannot be opened"):
        operate(engine, tmp_path / "gone.png", "variation")


def test_derived_pipelines_share_the_loaded_weights(engine):
    model = engine.model()
    base = model.text_to_image
    for derived in (model.image_to_image, model.inpainting):
        for name in ("unet", "vae", "text_encoder"):
            assert getattr(derived, name) is getattr(base, name)
            ours = [p.data_ptr() for p in getattr(base, name).parameters()]
            assert [p.data_ptr() for p in getattr(derived, name).parameters()] == ours


def test_an_operation_image_is_reproduced_bit_exactly_from_its_file(engine, source, tmp_path):
    from engine.outputs import read_record

    result = operate(engine, source[0], "variation", mode="subtle", steps=10)
    saved = save_result(result, tmp_path)
    replay, index, _ = read_record(saved.images[1])
    assert index == 1 and replay.operation == "variation"
    assert np.array_equal(pixels(engine.run(replay).images[0]), pixels(result.images[1]))
