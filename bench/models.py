"""Model folders the bench loads: the engine's embedded default model, or a published architecture
(SD 1.5, SDXL, FLUX.1, SD3.5 Large, or the CPU-sized versions of their blocks) with random weights written
once into the cache folder; and what each job of the burst asks of the model.

Both the naive pipeline and the engine load the very same folder, so they compare like for like.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import diffusers
import torch
from diffusers import DiffusionPipeline, StableDiffusionPipeline, StableDiffusionXLPipeline

from bench import flow_architectures
from bench.architectures import ARCHITECTURES, build_components
from bench.flow_architectures import FLOW_ARCHITECTURES, FlowArchitecture
from engine.default_model import DEFAULT_MODEL_FOLDER
from engine.families import FAMILIES, Family, FluxFamily, family_for

DEFAULT_MODEL = "default"
MODEL_NAMES = (DEFAULT_MODEL, *ARCHITECTURES, *FLOW_ARCHITECTURES)


def model_folder(name: str, cache_dir: Path) -> Path:
    """The diffusers folder for `name`: the shipped default weights, or a random-weight architecture
    built on first use (atomically)."""
    if name == DEFAULT_MODEL:
        return DEFAULT_MODEL_FOLDER
    folder = cache_dir / "bench-models" / name
    if (folder / "model_index.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder.parent))
    try:
        pipe, disk_dtype = _build(name)
        pipe.to(dtype=disk_dtype).save_pretrained(staging)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _build(name: str) -> tuple[DiffusionPipeline, torch.dtype]:
    """The random-weight pipeline and the dtype to store it in: half precision halves the write of the
    full-size models (FLUX.1 and SD3.5 in bf16, as they are published); every run loads it in its own dtype."""
    if name in FLOW_ARCHITECTURES:
        arch = FLOW_ARCHITECTURES[name]
        _check_host_memory(arch)
        return flow_architectures.build_pipeline(arch), torch.float32 if arch.resolution < 256 else torch.bfloat16
    arch = ARCHITECTURES[name]
    components = build_components(arch)
    if arch.xl:
        pipe = StableDiffusionXLPipeline(**components)
    else:
        pipe = StableDiffusionPipeline(
            **components, safety_checker=None, feature_extractor=None, requires_safety_checker=False
        )
    return pipe, torch.float32 if arch.resolution < 256 else torch.float16


def _check_host_memory(arch: FlowArchitecture) -> None:
    """Refuse, with the way out, a build that cannot fit: the weights are drawn in fp32 on the CPU (FLUX.1 needs
    about 70 GB once), and running out would end the run with a bare "Killed"."""
    with torch.device("meta"):
        pipe = flow_architectures.build_pipeline(arch)
    modules = [component for component in pipe.components.values() if isinstance(component, torch.nn.Module)]
    needed = 4 * sum(parameter.numel() for module in modules for parameter in module.parameters())
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if needed > physical:
        raise MemoryError(
            f"building the random-weight {arch.name} folder needs about {needed / 1e9:.0f} GB of memory and this "
            f"machine has {physical / 1e9:.0f} GB: build it once on a bigger machine and copy "
            f"bench-models/{arch.name} into the cache folder (--cache-dir, default data/), or use "
            f"--model {arch.name}-tiny here"
        )


def family_class(folder: Path) -> type[Family]:
    """The engine family of the pipeline saved in `folder`, read from its model_index.json before loading (the
    dtype to load it in depends on it)."""
    pipeline_class = getattr(diffusers, json.loads((folder / "model_index.json").read_text())["_class_name"])
    return next(family for family in FAMILIES if issubclass(pipeline_class, family.pipelines))


@dataclass(frozen=True)
class JobShape:
    """What every job of the burst asks of the model."""

    resolution: int
    """The side the architecture was published at (the default model: its own)."""
    guidance: float
    guidance_batch: int
    """Denoiser passes per image and step: 2 with classifier-free guidance (prompt and negative prompt), 1 for
    FLUX.1, whose guidance is distilled into the model."""


def job_shape(name: str, pipe: DiffusionPipeline, cfg_guidance: float) -> JobShape:
    """Jobs ask for the family's own guidance (FLUX.1-dev 3.5 as an input, schnell none), else `cfg_guidance`;
    SD and SD3 pipelines run classifier-free guidance above 1, as diffusers does."""
    family = family_for(pipe)
    guidance = cfg_guidance if family.default_guidance is None else family.default_guidance
    classifier_free = not isinstance(family, FluxFamily) and guidance > 1
    arch = ARCHITECTURES.get(name) or FLOW_ARCHITECTURES.get(name)
    resolution = arch.resolution if arch else family.native_size
    return JobShape(resolution, guidance, 2 if classifier_free else 1)
