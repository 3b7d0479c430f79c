"""User-facing sampler names and the diffusers scheduler each one stands for.

Pure Python on purpose: the bot validates `--sampler` at command time without importing
diffusers. The engine builds the scheduler from a spec with
`getattr(diffusers, spec.class_name).from_config(pipe.scheduler.config, **spec.config)`.

Samplers whose diffusers scheduler needs packages we do not ship are left out: LMS needs
scipy and DPM++ SDE (single-step) needs torchsde.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class SamplerSpec:
    class_name: str
    config: Mapping[str, Any]
    label: str
    """The AUTOMATIC1111 name, written into PNG `parameters` so other tools recognise it."""


def _spec(class_name: str, label: str, **config: Any) -> SamplerSpec:
    return SamplerSpec(class_name, MappingProxyType(config), label)


SAMPLERS: Mapping[str, SamplerSpec] = MappingProxyType(
    {
        "euler": _spec("EulerDiscreteScheduler", "Euler"),
        "euler-a": _spec("EulerAncestralDiscreteScheduler", "Euler a"),
        "heun": _spec("HeunDiscreteScheduler", "Heun"),
        "ddim": _spec("DDIMScheduler", "DDIM"),
        "pndm": _spec("PNDMScheduler", "PLMS", skip_prk_steps=True),
        "dpm++2m": _spec("DPMSolverMultistepScheduler", "DPM++ 2M", algorithm_type="dpmsolver++", solver_order=2),
        "dpm++2m-karras": _spec(
            "DPMSolverMultistepScheduler",
            "DPM++ 2M Karras",
            algorithm_type="dpmsolver++",
            solver_order=2,
            use_karras_sigmas=True,
        ),
        "dpm++2m-sde-karras": _spec(
            "DPMSolverMultistepScheduler",
            "DPM++ 2M SDE Karras",
            algorithm_type="sde-dpmsolver++",
            solver_order=2,
            use_karras_sigmas=True,
        ),
        "unipc": _spec("UniPCMultistepScheduler", "UniPC"),
        "lcm": _spec("LCMScheduler", "LCM"),
    }
)

DEFAULT_SAMPLER = "euler"


class UnknownSamplerError(ValueError):
    pass


def _squash(name: str) -> str:
    """Reduce a spelling to letters, digits and '+' so 'DPM++ 2M Karras', 'dpmpp_2m_karras'
    and 'dpm++2m-karras' all meet."""
    return re.sub(r"[^a-z0-9+]", "", name.lower().replace("dpmpp", "dpm++"))


_BY_SQUASHED = {_squash(name): name for name in SAMPLERS} | {
    _squash(spec.label): name for name, spec in SAMPLERS.items()
}


def normalize_sampler(name: str) -> str:
    """The canonical SAMPLERS key for a user's spelling, or UnknownSamplerError listing them."""
    canonical = _BY_SQUASHED.get(_squash(name))
    if canonical is None:
        raise UnknownSamplerError(f"unknown sampler {name!r}; accepted samplers: {', '.join(SAMPLERS)}")
    return canonical


def sampler_label(name: str) -> str:
    """The AUTOMATIC1111 sampler name, e.g. 'DPM++ 2M Karras', for PNG metadata."""
    return SAMPLERS[normalize_sampler(name)].label
