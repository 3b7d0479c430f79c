"""Speed settings: each keeps the pictures of the plain path (within docs/engine.md's tolerance),
reaches the derived pipelines, and is read from the environment.

torch.compile is not exercised on the CPU (compiling the tiny model there takes about 90 s);
`test_compiled_first_job_after_warm_up_compiles_nothing` runs where CUDA is present.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers.models.attention_processor import FusedAttnProcessor2_0
from pydantic import ValidationError

from engine.engine import Engine
from engine.request import GenerationRequest, Operation
from engine.settings import EngineSettings
from engine.speedups import Speedups
from tests.engine.conftest import pixels

torch.set_num_threads(1)

SPEEDUP_VARIABLES = ("ENGINE_CHANNELS_LAST", "ENGINE_FUSE_QKV", "ENGINE_COMPILE", "ENGINE_VAE_TILING")
# docs/engine.md, "Speed settings": channels_last and fused QKV change any channel by at most 1/255.
LAYOUT_TOLERANCE = 1
# VAE tiling above the VAE's native size: mean difference per channel, in 1/255 (measured 5.3 on the
# trained default model at 128×96; docs/engine.md).
TILED_MEAN_TOLERANCE = 7


def make_engine(**speedups) -> Engine:
    return Engine(
        EngineSettings(
            _env_file=None, model_id=None, default_steps=3, engine_device="cpu", engine_dtype=None, **speedups
        )
    )


def max_difference(first, second) -> int:
    return max(int(np.abs(pixels(a) - pixels(b)).max()) for a, b in zip(first, second, strict=True))


def mean_difference(first, second) -> float:
    return float(np.mean([np.abs(pixels(a) - pixels(b)).mean() for a, b in zip(first, second, strict=True)]))


@pytest.fixture(scope="module")
def fast_engine() -> Engine:
    """Every speed setting the CPU can run in seconds: all but compile."""
    return make_engine(engine_channels_last=True, engine_fuse_qkv=True, engine_vae_tiling=True)


@pytest.fixture
def clean_environment(monkeypatch):
    for name in SPEEDUP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_speed_setting_is_off_by_default(clean_environment):
    assert Speedups.from_settings(EngineSettings(_env_file=None)) == Speedups()


def test_speed_settings_are_read_from_the_environment(clean_environment):
    clean_environment.setenv("ENGINE_CHANNELS_LAST", "1")
    clean_environment.setenv("ENGINE_FUSE_QKV", "true")
    clean_environment.setenv("ENGINE_COMPILE", "max-autotune-no-cudagraphs")
    clean_environment.setenv("ENGINE_VAE_TILING", "yes")
    assert Speedups.from_settings(EngineSettings(_env_file=None)) == Speedups(
        channels_last=True, fuse_qkv=True, compile_mode="max-autotune-no-cudagraphs", vae_tiling=True
    )


def test_an_unknown_compile_mode_names_the_accepted_ones(clean_environment):
    clean_environment.setenv("ENGINE_COMPILE", "turbo")
    with pytest.raises(ValidationError, match="reduce-overhead"):
        EngineSettings(_env_file=None)
    with pytest.raises(ValueError, match="'turbo' is not one of: off, default, max-autotune-no-cudagraphs"):
        Speedups(compile_mode="turbo")


@pytest.mark.parametrize("setting", ["engine_channels_last", "engine_fuse_qkv"])
def test_layout_and_fusion_keep_the_plain_pictures(engine, setting):
    faster = make_engine(**{setting: True})
    for width, height in ((64, 64), (80, 48)):
        request = GenerationRequest(prompt="a lighthouse at dusk", seed=11, width=width, height=height, count=2)
        assert max_difference(faster.run(request).images, engine.run(request).images) <= LAYOUT_TOLERANCE


def test_the_derived_pipelines_run_with_the_speedups_of_the_loaded_model(fast_engine):
    model = fast_engine.model()
    for pipe in (model.image_to_image, model.inpainting):
        assert pipe.unet is model.text_to_image.unet and pipe.vae is model.text_to_image.vae
        processors = [*pipe.unet.attn_processors.values(), *pipe.vae.attn_processors.values()]
        assert all(isinstance(processor, FusedAttnProcessor2_0) for processor in processors)
        assert pipe.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
        assert pipe.vae.use_tiling


@pytest.mark.parametrize("operation", [Operation.VARIATION, Operation.ZOOM])
def test_operations_keep_the_plain_pictures_with_every_cpu_speedup(engine, fast_engine, tmp_path, operation):
    source = tmp_path / "source.png"
    engine.run(GenerationRequest(prompt="a red fox", seed=3, count=1)).images[0].save(source)
    request = GenerationRequest(operation=operation, prompt="a red fox", seed=5, count=2, source_image=str(source))
    assert max_difference(fast_engine.run(request).images, engine.run(request).images) <= LAYOUT_TOLERANCE


def test_vae_tiling_changes_nothing_up_to_the_vae_native_size(engine):
    tiled = make_engine(engine_vae_tiling=True)
    request = GenerationRequest(prompt="a lighthouse at dusk", seed=11, width=64, height=64, count=2)
    assert max_difference(tiled.run(request).images, engine.run(request).images) == 0


def test_vae_tiling_above_the_native_size_stays_close_to_the_plain_decode(engine):
    tiled = make_engine(engine_vae_tiling=True)
    request = GenerationRequest(prompt="a lighthouse at dusk", seed=11, width=128, height=96, count=2)
    assert mean_difference(tiled.run(request).images, engine.run(request).images) <= TILED_MEAN_TOLERANCE


def test_warm_up_without_compile_does_nothing_not_even_load_the_model(tmp_path):
    engine = Engine(EngineSettings(_env_file=None, model_id=str(tmp_path / "no-such-model"), engine_device="cpu"))
    assert engine.warm_up(batch_sizes=(4, 8)) == 0.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="compiling on the CPU takes minutes")
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_compiled_first_job_after_warm_up_compiles_nothing(tmp_path, mode):
    from torch._dynamo.utils import counters

    settings = dict(_env_file=None, default_steps=3, engine_device="cuda", engine_dtype="float32")
    plain = Engine(EngineSettings(**settings))
    compiled = Engine(EngineSettings(**settings, engine_compile=mode))
    compiled.warm_up(batch_sizes=(4,))
    graphs = counters["stats"]["unique_graphs"]
    request = GenerationRequest(prompt="a lighthouse at dusk", seed=11, count=4)
    images = compiled.run(request).images
    assert counters["stats"]["unique_graphs"] == graphs
    assert mean_difference(images, plain.run(request).images) <= LAYOUT_TOLERANCE


def fused(denoiser) -> set[bool]:
    return {module.fused_projections for module in denoiser.modules() if hasattr(module, "fused_projections")}


def test_fused_qkv_leaves_sd35_alone_and_fuses_flux(caplog) -> None:
    """diffusers' fused SD3 attention drops SD3.5's query/key norms (its images would change): skipped, said."""
    from bench.flow_architectures import TINY_FLUX, TINY_SD3, build_pipeline
    from engine.speedups import Speedups, apply_speedups

    sd35 = apply_speedups(build_pipeline(TINY_SD3), Speedups(fuse_qkv=True))
    assert fused(sd35.transformer) == {False} and "ENGINE_FUSE_QKV skipped" in caplog.text
    flux = apply_speedups(build_pipeline(TINY_FLUX), Speedups(fuse_qkv=True))
    assert fused(flux.transformer) == {True}
