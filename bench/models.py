"""Model folders the bench loads: the engine's embedded default model, or a published architecture
with random weights written once into the cache folder.

Both the naive pipeline and the engine load the very same folder, so they compare like for like.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

from bench.architectures import ARCHITECTURES, build_components
from engine.default_model import DEFAULT_MODEL_FOLDER

DEFAULT_MODEL = "default"
MODEL_NAMES = (DEFAULT_MODEL, *ARCHITECTURES)


def model_folder(name: str, cache_dir: Path) -> Path:
    """The diffusers folder for `name`: the shipped default weights, or a random-weight architecture
    built on first use (atomically)."""
    if name == DEFAULT_MODEL:
        return DEFAULT_MODEL_FOLDER
    arch = ARCHITECTURES[name]
    folder = cache_dir / "bench-models" / name
    if (folder / "model_index.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder.parent))
    try:
        components = build_components(arch)
        if arch.xl:
            pipe = StableDiffusionXLPipeline(**components)
        else:
            pipe = StableDiffusionPipeline(
                **components, safety_checker=None, feature_extractor=None, requires_safety_checker=False
            )
        # Half precision on disk halves the write; every run loads it in its own dtype.
        dtype = torch.float32 if arch.resolution < 256 else torch.float16
        pipe.to(dtype=dtype).save_pretrained(staging)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def native_resolution(pipe) -> int:
    return pipe.unet.config.sample_size * pipe.vae_scale_factor
