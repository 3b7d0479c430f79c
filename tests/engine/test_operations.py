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


@pytest.mark.parametrize(
    "zoom, canvas_aspect, size, box",
    [
        (None, None, (80, 48), (16, 8, 40, 24)),  # the first Zoom Out button's 2×, as before
        (2.0, None, (80, 48), (16, 8, 40, 24)),
        (1.5, None, (80, 48), (8, 8, 56, 32)),
        (1.0, (1, 1), (64, 64), (0, 8, 64, 40)),  # Make Square: the short sides are painted
        (1.5, (1, 2), (48, 80), (8, 32, 32, 16)),  # Custom Zoom 1.5 with --ar 1:2
    ],
)
def test_zoom_variants_give_the_documented_sizes_and_keep_the_source_exactly(
    engine, source, zoom, canvas_aspect, size, box
):
    original = Image.open(source[0])
    zoomed = operate(engine, source[0], "zoom", count=1, zoom=zoom, canvas_aspect=canvas_aspect).images[0]
    assert zoomed.size == size
    x, y, width, height = box
    kept = zoomed.crop((x, y, x + width, y + height))
    assert np.array_equal(pixels(kept), pixels(original.resize((width, height), Image.LANCZOS)))
    assert distance(zoomed.resize(original.size), original) > 0


def test_zooms_that_leave_nothing_to_paint_are_refused(engine, source):
    from engine.engine import RequestError

    with pytest.raises(ValueError, match="zoom 1 leaves nothing to paint"):
        GenerationRequest(operation="zoom", prompt="x", source_image="a.png", zoom=1.0)
    with pytest.raises(RequestError, match="leaves nothing to paint around the image"):
        operate(engine, source[0], "zoom", zoom=1.0, canvas_aspect=(5, 3))
    with pytest.raises(ValueError, match="between 1:4 and 4:1"):
        GenerationRequest(operation="zoom", prompt="x", source_image="a.png", canvas_aspect=(5, 1))


@given(
    source_size=st.tuples(st.integers(8, 2048), st.integers(8, 2048)),
    factor=st.floats(1.0, 2.0),
    canvas_aspect=st.none() | st.tuples(st.integers(1, 4), st.integers(1, 4)),
    multiple=st.sampled_from([8, 16, 64]),
    max_pixels=st.integers(256 * 256, 2048 * 2048),
)
def test_a_zoom_canvas_stays_within_the_budget_and_holds_the_source(
    source_size, factor, canvas_aspect, multiple, max_pixels
):
    from engine.engine import RequestError
    from engine.operations.outpaint import zoom_layout

    try:
        layout = zoom_layout(source_size, factor, canvas_aspect, multiple, max_pixels)
    except RequestError:
        return
    width, height = layout.canvas
    x, y, placed_w, placed_h = layout.box
    assert width * height <= max_pixels
    assert width % multiple == 0 and height % multiple == 0
    assert x >= 0 and x + placed_w <= width and y >= 0 and y + placed_h <= height
    assert (placed_w, placed_h) != (width, height)


def test_vary_region_repaints_the_chosen_cells_and_keeps_every_other_pixel(engine, source):
    from engine.operations.region import cell_box

    original = pixels(Image.open(source[0]))
    result = operate(engine, source[0], "region", count=4, region=(0, 4), prompt="a blue star", steps=4)
    assert result.request.strength == 0.8
    assert len(result.images) == 4
    chosen = np.zeros(original.shape[:2], dtype=bool)
    for cell in (0, 4):
        left, top, right, bottom = cell_box((80, 48), cell)
        chosen[top:bottom, left:right] = True
    for image in result.images:
        repainted = pixels(image)
        assert image.size == (80, 48)
        assert np.array_equal(repainted[~chosen], original[~chosen])
        assert np.abs(repainted[chosen] - original[chosen]).mean() > 5


def test_the_region_masks_feather_inside_the_chosen_cells_only():
    from engine.operations.region import cell_box, masks

    paint, keep = masks((96, 96), (4,))
    assert cell_box((96, 96), 4) == (32, 32, 64, 64)
    keep_pixels = np.asarray(keep)
    inside = np.zeros((96, 96), dtype=bool)
    inside[32:64, 32:64] = True
    assert (keep_pixels[~inside] == 255).all()
    assert keep_pixels[48, 48] == 0 and 0 < keep_pixels[48, 33] < 255
    assert np.array_equal(np.asarray(paint) == 255, inside)


@pytest.mark.parametrize(
    "source_size, factor, canvas_aspect, canvas, picture",
    [
        ((1024, 1024), 2.0, None, (1024, 1024), (512, 512)),
        ((1344, 768), 2.0, None, (1344, 768), (672, 384)),
        ((1024, 1024), 1.5, None, (1024, 1024), (680, 680)),
        ((1344, 768), 1.5, None, (1344, 768), (896, 512)),
        ((1344, 768), 1.0, (1, 1), (1024, 1024), (1024, 584)),
        ((1024, 1024), 1.25, (16, 9), (1344, 768), (616, 616)),
        ((1344, 768), 1.25, (16, 9), (1344, 768), (1072, 616)),
        ((1024, 1024), 2.0, (2, 3), (832, 1248), (416, 416)),
        ((1344, 768), 2.0, (2, 3), (832, 1248), (416, 240)),
    ],
)
def test_the_zoom_sizes_in_the_docs(source_size, factor, canvas_aspect, canvas, picture):
    """docs/prompt-flags.md's Zoom Out table, for an SDXL-size model (sides multiples of 32)."""
    from engine.operations.outpaint import zoom_layout

    layout = zoom_layout(source_size, factor, canvas_aspect, 32, 1024 * 1024)
    assert (layout.canvas, layout.box[2:]) == (canvas, picture)
