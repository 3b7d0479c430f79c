import inspect

import diffusers
import pytest
import torch

from engine.samplers import DEFAULT_SAMPLER, SAMPLERS, UnknownSamplerError, normalize_sampler, sampler_label

# The scheduler config Stable Diffusion 1.x checkpoints ship with.
SD_SCHEDULER_CONFIG = diffusers.PNDMScheduler(
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    num_train_timesteps=1000,
    set_alpha_to_one=False,
    skip_prk_steps=True,
    steps_offset=1,
).config


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_every_sampler_builds_and_steps_with_the_shipped_packages(name):
    spec = SAMPLERS[name]
    scheduler = getattr(diffusers, spec.class_name).from_config(SD_SCHEDULER_CONFIG, **spec.config)
    for key, value in spec.config.items():
        assert scheduler.config[key] == value
    scheduler.set_timesteps(4)
    generator = torch.Generator().manual_seed(0)
    # Like the diffusers pipelines, pass a generator only to schedulers that draw noise.
    extra = {"generator": generator} if "generator" in inspect.signature(scheduler.step).parameters else {}
    sample = torch.randn(1, 4, 8, 8, generator=generator) * scheduler.init_noise_sigma
    for timestep in scheduler.timesteps:
        model_input = scheduler.scale_model_input(sample, timestep)
        sample = scheduler.step(torch.zeros_like(model_input), timestep, sample, **extra).prev_sample
    assert torch.isfinite(sample).all()


def test_default_sampler_is_listed():
    assert DEFAULT_SAMPLER in SAMPLERS


@pytest.mark.parametrize(
    "spelling, name",
    [
        ("euler", "euler"),
        ("Euler a", "euler-a"),
        ("euler_a", "euler-a"),
        ("DPM++ 2M Karras", "dpm++2m-karras"),
        ("dpmpp_2m_karras", "dpm++2m-karras"),
        ("PLMS", "pndm"),
        ("UniPC", "unipc"),
    ],
)
def test_common_spellings_find_the_sampler(spelling, name):
    assert normalize_sampler(spelling) == name


def test_unknown_sampler_lists_the_accepted_ones():
    with pytest.raises(UnknownSamplerError, match="accepted samplers: euler, euler-a"):
        normalize_sampler("lms")


@pytest.mark.parametrize(
    "name, label",
    [("euler-a", "Euler a"), ("dpm++2m-karras", "DPM++ 2M Karras"), ("ddim", "DDIM"), ("pndm", "PLMS")],
)
def test_labels_match_automatic1111(name, label):
    assert sampler_label(name) == label
