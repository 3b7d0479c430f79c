"""FLUX.1 and SD3 through the engine: tiny random-weight models registered through MODELS, every operation,
previews, chaos, cancellation, bit-exact replay, and clear refusals for what a family cannot do."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from PIL import Image

from engine.engine import GenerationCancelled, RequestError
from engine.families import FluxFamily, SD3Family, UNetFamily
from engine.flags import PromptDefaults, parse_prompt
from engine.noise import initial_noise
from engine.outputs import save_result
from engine.request import Direction, GenerationRequest, Operation
from tests.engine.conftest import pixels

FLOW_MODELS = ("flux", "sd3")


def imagine(model: str, **fields) -> GenerationRequest:
    return GenerationRequest(**({"prompt": "a red fox in snow", "seed": 7, "count": 2, "model": model} | fields))


def test_each_model_gets_its_family(flow_engine):
    families = {name: type(flow_engine.model(name).family) for name in ("default", *FLOW_MODELS)}
    assert families == {"default": UNetFamily, "flux": FluxFamily, "sd3": SD3Family}


@pytest.mark.parametrize("model", FLOW_MODELS)
def test_replay_of_one_image_is_bit_exact_and_seeds_differ(flow_engine, model):
    batch = flow_engine.run(imagine(model))
    assert [image.size for image in batch.images] == [(64, 64)] * 2
    assert not np.array_equal(pixels(batch.images[0]), pixels(batch.images[1]))
    replay = flow_engine.run(imagine(model, seed=8, chaos_seed=7, count=1, replay_batch=2, replay_slot=1))
    assert np.array_equal(pixels(replay.images[0]), pixels(batch.images[1]))


def test_flux_schnell_preset_runs_without_guidance_and_with_flow_matching_euler(flow_engine):
    result = flow_engine.run(imagine("flux"))
    assert (result.request.steps, result.request.guidance, result.request.sampler) == (2, 0.0, "euler")
    assert result.run.scheduler == "FlowMatchEulerDiscreteScheduler"


def test_flux_noise_is_drawn_unpacked_per_image_then_packed(flow_engine):
    """Each image's noise comes from its own generator in the unpacked (16, h, w) shape, chaos mixing included,
    so an image's noise does not depend on its batch; packing only rearranges it."""
    family = flow_engine.model("flux").family
    shape = family.latent_shape(64, 64)
    assert shape == (16, 32, 32)
    together, _ = initial_noise([7, 8], [7, 7], [40, 40], shape)
    alone, _ = initial_noise([8], [7], [40], shape)
    packed = family.pack(together)
    assert packed.shape == (2, 16 * 16, 64)
    assert torch.equal(family.pack(alone)[0], packed[1])
    assert torch.equal(family.unpack(packed, 64, 64), together)


@pytest.mark.parametrize("model", FLOW_MODELS)
def test_chaos_changes_the_images(flow_engine, model):
    calm = flow_engine.run(imagine(model, count=1))
    wild = flow_engine.run(imagine(model, count=1, chaos=100))
    assert not np.array_equal(pixels(calm.images[0]), pixels(wild.images[0]))


@pytest.fixture(scope="module")
def sources(flow_engine, tmp_path_factory):
    folder = tmp_path_factory.mktemp("flow-sources")
    return {
        model: save_result(flow_engine.run(imagine(model, count=1)), folder / model).images[0] for model in FLOW_MODELS
    }


@pytest.mark.parametrize("model", FLOW_MODELS)
@pytest.mark.parametrize(
    "operation, extra, size",
    [
        (Operation.VARIATION, {}, (64, 64)),
        (Operation.UPSCALE, {}, (128, 128)),
        (Operation.ZOOM, {}, (64, 64)),
        (Operation.PAN, {"direction": Direction.RIGHT}, (96, 64)),
        (Operation.ZOOM, {"zoom": 1.5, "canvas_aspect": (1, 1)}, (64, 64)),
        (Operation.REGION, {"region": (4,)}, (64, 64)),
    ],
)
def test_image_operations(flow_engine, sources, model, operation, extra, size):
    request = imagine(model, operation=operation, source_image=str(sources[model]), count=1, **extra)
    result = flow_engine.run(request)
    assert result.images[0].size == size
    if operation is Operation.PAN:  # the known area is pasted back exactly
        assert np.array_equal(pixels(result.images[0].crop((0, 0, 64, 64))), pixels(Image.open(sources[model])))


@pytest.mark.parametrize("model", FLOW_MODELS)
def test_previews_come_from_the_16_channel_latents_and_cancel_stops_the_run(flow_engine, model):
    previews, cancel = [], threading.Event()

    def on_progress(progress):
        previews.append(progress.preview())
        cancel.set()

    with pytest.raises(GenerationCancelled):
        flow_engine.run(imagine(model), on_progress=on_progress, cancel=cancel, preview=True)
    assert len(previews) == 1
    # Two 32² latents, each previewed at 4×, side by side in a 2×1 grid.
    assert previews[0].size == (2 * 128, 128)
    assert len(np.unique(pixels(previews[0]).reshape(-1, 3), axis=0)) > 1


def test_flux_refuses_tiling_and_samplers_it_does_not_offer(flow_engine):
    with pytest.raises(RequestError, match="--tile is not available for FLUX.1"):
        flow_engine.run(imagine("flux", tile=True))
    with pytest.raises(RequestError, match=r"--sampler dpm\+\+2m is not available for SD3 models; use --sampler euler"):
        flow_engine.run(imagine("sd3", sampler="dpm++2m"))


@pytest.mark.parametrize("model", FLOW_MODELS)
def test_a_settings_sampler_gives_way_to_the_familys_own_and_a_typed_one_is_refused(flow_engine, model):
    """The member's /settings sampler (ddim) reaches the engine as `default_sampler` and gives way, as the operator's
    DEFAULT_SAMPLER does; the same sampler typed with --sampler is refused, naming the flag."""
    defaults = PromptDefaults(sampler="ddim")
    settled = parse_prompt(f"a red fox --model {model} --seed 7", defaults, models=flow_engine.registry)
    result = flow_engine.run(settled.model_copy(update={"count": 1}))
    assert (result.request.sampler, result.request.default_sampler) == ("euler", None)
    assert result.run.scheduler == "FlowMatchEulerDiscreteScheduler" and result.request.warnings == ()
    typed = parse_prompt(f"a red fox --model {model} --sampler ddim", defaults, models=flow_engine.registry)
    label = flow_engine.model(model).family.label
    with pytest.raises(RequestError) as refused:
        flow_engine.resolve(typed)
    assert str(refused.value) == (
        f"--sampler ddim is not available for {label} models; use --sampler euler, or leave --sampler out."
    )


def test_the_settings_sampler_still_picks_the_sampler_where_the_family_offers_it(flow_engine):
    defaults = PromptDefaults(sampler="ddim")
    assert flow_engine.resolve(parse_prompt("a red fox", defaults)).sampler == "ddim"
    unet, flux = flow_engine.model().family, flow_engine.model("flux").family
    # The order the engine passes: the member's /settings, the model's MODELS entry, DEFAULT_SAMPLER.
    assert unet.pick_sampler(None, ("ddim", "heun", "euler")) == "ddim"
    assert unet.pick_sampler(None, (None, "heun", "euler")) == "heun"
    assert unet.pick_sampler("unipc", ("ddim", "heun", "euler")) == "unipc"
    assert flux.pick_sampler(None, ("ddim", "heun", "dpm++2m")) == "euler"


def test_flux_warns_that_negative_prompts_and_guidance_do_nothing(flow_engine):
    resolved = flow_engine.resolve(imagine("flux", negative_prompt="trees", guidance=5.0))
    assert any("no negative prompt" in warning and "trees" in warning for warning in resolved.warnings)
    assert any("takes no guidance" in warning for warning in resolved.warnings)
    sd3 = flow_engine.resolve(imagine("sd3", negative_prompt="trees", guidance=5.0))
    assert sd3.warnings == ()


def test_a_prompt_past_the_t5_window_is_reported_in_t5_tokens(flow_engine):
    resolved = flow_engine.resolve(imagine("sd3", prompt=" ".join(["red fox"] * 200)))
    # 400 whole-word T5 tokens; T5 adds only an end token, so 255 of the 256 are the prompt's.
    assert resolved.warnings[0].startswith("Your prompt is 400 tokens but the model reads only 255")


@pytest.mark.parametrize("model", FLOW_MODELS)
def test_weights_are_left_out_with_a_warning_where_the_family_cannot_weight(flow_engine, model):
    """FLUX and SD3 read the words alone (the pixels of the prompt typed without weights), and the member is told."""
    weighted = flow_engine.run(imagine(model, prompt="a (red:1.5) fox::2 snow::1", count=1))
    plain = flow_engine.run(imagine(model, prompt="a red fox, snow", count=1))
    assert any("cannot weight prompts" in w and "“a red fox, snow”" in w for w in weighted.request.warnings)
    assert np.array_equal(pixels(weighted.images[0]), pixels(plain.images[0]))
