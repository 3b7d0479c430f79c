"""Image prompts: /imagine from the member's image (--iw as strength), /blend from a composite or through an
IP-Adapter registered with the model, reproduction from the stored paths."""

from __future__ import annotations

import math

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


# --- FLUX.1 and SD3 -------------------------------------------------------------------------------------------

FLOW_MODELS = ("flux", "sd3")


@pytest.fixture(scope="module")
def flat_pictures(tmp_path_factory):
    """Four 64×64 pictures that differ everywhere: a square of the opposite colour on a flat ground."""
    folder = tmp_path_factory.mktemp("flat-pictures")
    paths = []
    for index, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200), (240, 240, 240)]):
        picture = np.zeros((64, 64, 3), np.uint8)
        picture[:] = colour
        picture[16:48, 16:48] = [255 - channel for channel in colour]
        paths.append(folder / f"{index}.png")
        Image.fromarray(picture).save(paths[-1])
    return paths


@pytest.mark.parametrize("model", FLOW_MODELS)
def test_one_image_prompt_and_a_three_image_blend_run_on_flux_and_sd3(flow_engine, flat_pictures, pictures, model):
    one = flow_engine.run(imagine(pictures[3], model=model, aspect=(1, 1)))
    assert [image.size for image in one.images] == [(64, 64)] * 2
    assert (one.request.image_weight, one.request.strength) == (1.0, 0.75)
    blend = flow_engine.run(imagine(*flat_pictures[:3], model=model, prompt="", count=1))
    other = flow_engine.run(imagine(*flat_pictures[1:], model=model, prompt="", count=1))
    assert blend.request.strength == 0.75 and blend.images[0].size == (64, 64)
    assert distance(blend.images[0], other.images[0]) > 1  # the composite is what it starts from


@pytest.mark.parametrize("model", FLOW_MODELS)
def test_on_flux_and_sd3_the_result_depends_on_the_image_and_more_so_at_a_higher_iw(flow_engine, flat_pictures, model):
    """Two different images, same seed: at --iw 0 (strength 1) the run starts from pure noise and the image cannot
    matter; from --iw 1 (the default) on, it does. The tiny models' weights are random, so their VAE does not give
    the source back and `closer to the source` is measured as `depends more on the source`.

    Before the engine passed `Family.image_strength`, these pipelines rounded the denoised steps up: at the preset's
    2 steps, strength 0.75 denoised both from pure noise and the two images gave identical pixels."""

    def difference(image_weight: float) -> float:
        first, second = (
            flow_engine.run(imagine(path, model=model, count=1, image_weight=image_weight)).images[0]
            for path in flat_pictures[:2]
        )
        return distance(first, second)

    ignored, default, close = difference(0), difference(1), difference(3)
    assert ignored == 0
    assert default > 1 and close >= default


def test_image_to_image_denoises_as_many_steps_on_every_family(flow_engine):
    """int(steps × strength) steps, at least one (the engine runs at least ceil(1 / strength) steps), whichever
    pipeline: FLUX and SD3's would round up, so the strength they are given is adjusted."""
    pipelines = {name: flow_engine.model(name) for name in ("default", *FLOW_MODELS)}
    for strength in (0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.625, 0.75, 0.8, 0.875, 1.0):
        for steps in (*range(1, 13), 28, 50):
            steps = max(steps, math.ceil(1 / strength))
            counts = set()
            for loaded in pipelines.values():
                for pipe in (loaded.image_to_image, loaded.inpainting):
                    pipe.scheduler = loaded.scheduler("euler")
                    shifting = pipe.scheduler.config.get("use_dynamic_shifting")  # FLUX: the shift is not counted
                    pipe.scheduler.set_timesteps(steps, **({"mu": 1.0} if shifting else {}))
                    _, count = pipe.get_timesteps(steps, loaded.family.image_strength(strength, steps), "cpu")
                    counts.add(count)
            assert counts == {max(1, int(steps * strength))}, (strength, steps, counts)


def test_a_blend_on_a_family_without_ip_adapters_is_refused_by_name_and_the_model_serves_the_rest(
    flow_models, flat_pictures, tmp_path
):
    """An operator's ip_adapter on a FLUX.1 model: blends are refused with what to do, a one-image prompt and a
    plain job run (the adapter file is never opened)."""
    import torch

    from engine.engine import Engine
    from engine.results import RequestError
    from engine.settings import EngineSettings

    torch.set_num_threads(1)
    adapter = tmp_path / "ip-adapter.safetensors"
    settings = EngineSettings(
        _env_file=None,
        model_id=None,
        models=f"fluxblend={flow_models['flux']}?size=64&steps=2&guidance=0&ip_adapter={adapter}",
        max_loaded_models=1,
        engine_device="cpu",
    )
    engine = Engine(settings)
    with pytest.raises(RequestError) as refused:
        engine.run(imagine(*flat_pictures[:3], model="fluxblend", count=1))
    assert str(refused.value) == (
        "The model 'fluxblend' cannot blend images: its ip_adapter setting needs a Stable Diffusion (UNet) model, "
        "and this is a FLUX.1 model. Blend with another --model; the operator should remove ip_adapter from its "
        "MODELS entry."
    )
    assert len(engine.run(imagine(flat_pictures[0], model="fluxblend", count=1)).images) == 1
    assert len(engine.run(imagine(model="fluxblend", count=1)).images) == 1
