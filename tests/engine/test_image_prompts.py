"""Image prompts: /imagine from the member's image (--iw as strength), /blend from a composite or through an
IP-Adapter registered with the model, reproduction from the stored paths."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.operations.image_prompt import image_strength, start_image
from engine.outputs import read_record, save_result
from engine.request import GenerationRequest
from tests.engine.conftest import pixels


@pytest.fixture(scope="module")
def pictures(engine, tmp_path_factory):
    """Three 64×64 pictures as saved PNGs, and one of 80×48."""
    folder = tmp_path_factory.mktemp("image-prompts")
    square = engine.run(GenerationRequest(prompt="a yellow star on a purple background", seed=2, count=3))
    wide = engine.run(GenerationRequest(prompt="a green ring", seed=9, count=1, aspect=(5, 3)))
    return [*save_result(square, folder / "square").images, save_result(wide, folder / "wide").images[0]]


def distance(a, b) -> float:
    return float(np.abs(pixels(a) - pixels(b)).mean())


def imagine(*paths, **fields) -> GenerationRequest:
    fields = {"prompt": "a red circle on a blue background", "seed": 21, "count": 2} | fields
    return GenerationRequest(image_prompts=tuple(map(str, paths)), **fields)


def test_image_weight_maps_monotonically_onto_strength():
    assert [image_strength(iw) for iw in (0, 0.5, 1, 2, 3)] == [1.0, 0.875, 0.75, 0.5, 0.25]


def test_a_higher_iw_stays_closer_to_the_image(engine, pictures):
    image = Image.open(pictures[0])
    close = engine.run(imagine(pictures[0], image_weight=3, steps=8))
    loose = engine.run(imagine(pictures[0], image_weight=0.5, steps=8))
    assert (close.request.strength, loose.request.strength) == (0.25, 0.875)
    for near, far in zip(close.images, loose.images, strict=True):
        assert distance(near, image) < distance(far, image)


def test_the_image_is_fitted_to_the_requested_aspect_and_iw_defaults_to_one(engine, pictures):
    result = engine.run(imagine(pictures[3], count=1, aspect=(1, 1)))
    assert result.images[0].size == (64, 64)
    assert (result.request.image_weight, result.request.strength) == (1.0, 0.75)
    wide = Image.new("RGB", (80, 48), "red")
    wide.paste((0, 0, 255), (0, 0, 8, 48))  # cropped away: the centre 48 columns are kept
    assert np.asarray(start_image([wide], (48, 48))).reshape(-1, 3).tolist() == [[255, 0, 0]] * 48 * 48


def test_a_blend_without_an_ip_adapter_starts_from_the_average_of_the_images(engine, pictures):
    red, blue = Image.new("RGB", (64, 64), (200, 0, 0)), Image.new("RGB", (32, 32), (0, 0, 101))
    assert np.asarray(start_image([red, blue], (16, 16)))[0, 0].tolist() == [100, 0, 50]
    result = engine.run(imagine(*pictures[:3], prompt="", count=1))
    assert result.request.strength == 0.75 and result.images[0].size == (64, 64)


def test_an_image_prompted_job_is_reproduced_bit_exactly_from_its_stored_paths(engine, pictures, tmp_path):
    result = engine.run(imagine(pictures[0]))
    replay, index, _ = read_record(save_result(result, tmp_path).images[1])
    assert index == 1 and replay.image_prompts == (str(pictures[0]),)
    assert np.array_equal(pixels(engine.run(replay).images[0]), pixels(result.images[1]))


def test_iw_without_an_image_and_chaos_with_one_are_reported(engine, pictures):
    assert "it had no effect" in engine.resolve(GenerationRequest(prompt="a cat", image_weight=2)).warnings[0]
    assert "--chaos has no effect" in engine.resolve(imagine(pictures[0], chaos=50)).warnings[0]


@pytest.fixture(scope="module")
def adapter_engine(tmp_path_factory):
    """The default model registered twice: `blend` with a tiny random IP-Adapter, `gone` with one on the hub (which
    engines never download)."""
    import torch
    from diffusers import UNet2DConditionModel

    from engine.default_model import DEFAULT_MODEL_FOLDER
    from engine.engine import Engine
    from engine.settings import EngineSettings
    from tests.tiny_flow import save_tiny_ip_adapter

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("ip-adapter")
    adapter = save_tiny_ip_adapter(UNet2DConditionModel.from_pretrained(DEFAULT_MODEL_FOLDER / "unet"), folder, 1)
    models = (
        f"blend={DEFAULT_MODEL_FOLDER}?ip_adapter={adapter}, "
        f"gone={DEFAULT_MODEL_FOLDER}?ip_adapter=nobody/no-such-adapter/models/ip-adapter.safetensors"
    )
    settings = EngineSettings(
        _env_file=None, model_id=None, models=models, default_steps=3, max_loaded_models=2, engine_device="cpu"
    )
    return Engine(settings)


def test_a_blend_through_the_ip_adapter_conditions_on_the_images_and_plain_jobs_keep_their_pixels(
    adapter_engine, pictures, tmp_path
):
    plain = imagine(model="blend")
    before = adapter_engine.run(plain)
    blended = adapter_engine.run(imagine(*pictures[:2], model="blend"))
    other = adapter_engine.run(imagine(pictures[0], pictures[3], model="blend"))
    after = adapter_engine.run(plain)
    assert blended.request.strength is None  # text-to-image, conditioned on the images
    for index in range(2):
        assert distance(blended.images[index], before.images[index]) > 1
        assert distance(blended.images[index], other.images[index]) > 0
        assert np.array_equal(pixels(after.images[index]), pixels(before.images[index]))
    replay, _, _ = read_record(save_result(blended, tmp_path).images[1])
    assert np.array_equal(pixels(adapter_engine.run(replay).images[0]), pixels(blended.images[1]))


def test_a_blend_stored_from_its_composite_keeps_that_path_once_an_adapter_is_registered(
    engine, adapter_engine, pictures
):
    composite = engine.run(imagine(*pictures[:2]))
    assert composite.request.strength == 0.75
    again = adapter_engine.run(composite.request.model_copy(update={"model": "blend"}))
    assert all(np.array_equal(pixels(a), pixels(b)) for a, b in zip(again.images, composite.images, strict=True))


def test_an_ip_adapter_that_cannot_be_loaded_names_the_setting_and_breaks_nothing(adapter_engine, pictures):
    from engine.results import RequestError

    with pytest.raises(RequestError, match="check the model's ip_adapter setting in MODELS"):
        adapter_engine.run(imagine(*pictures[:2], model="gone"))
    assert len(adapter_engine.run(imagine(model="gone")).images) == 2
