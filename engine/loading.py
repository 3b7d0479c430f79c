"""Finding and loading a model: hub id, local diffusers folder or single checkpoint file.

Everything goes through diffusers' AutoPipeline classes, so SD 1.x/2.x, SDXL, their turbo
variants, FLUX.1 and SD3 load the same way (`engine.families` then says how to drive each).
Image-to-image and inpainting pipelines are built with `from_pipe`, which reuses the already
loaded modules instead of loading a second copy of the weights.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from diffusers import (
    AutoPipelineForImage2Image,
    AutoPipelineForInpainting,
    AutoPipelineForText2Image,
    DiffusionPipeline,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
)

from engine.memory import MemorySaving
from engine.results import ModelNotFoundError
from engine.sources import CHECKPOINT_SUFFIXES, looks_like_path
from engine.speedups import Speedups, apply_speedups

# A key only SDXL checkpoints have (its second text encoder); picks the pipeline class for single files.
SDXL_CHECKPOINT_KEY = "conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias"

HUB_PROBE_TIMEOUT_S = 10

DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def choose_device(requested: str | None = None, requested_dtype: str | None = None) -> tuple[torch.device, torch.dtype]:
    """CUDA with bf16 where supported (fp16 otherwise), then Apple mps in fp16, else CPU in fp32."""
    if requested:
        device = torch.device(requested)
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    elif torch.backends.mps.is_available():
        device = torch.device("mps")
    else:
        device = torch.device("cpu")
    if requested_dtype:
        try:
            return device, DTYPES[requested_dtype.lower()]
        except KeyError:
            raise ValueError(f"ENGINE_DTYPE {requested_dtype!r} is not one of: {', '.join(DTYPES)}") from None
    if device.type == "cuda":
        return device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return device, torch.float16
    return device, torch.float32


def load_pipeline(
    source: str, dtype: torch.dtype, revision: str | None = None, memory: MemorySaving | None = None
) -> DiffusionPipeline:
    """Load `source` into host memory (not yet onto the device), or raise ModelNotFoundError with one
    actionable message. Loading before placing lets an engine try a new model while the models it holds
    keep serving, and free device memory only once the new one is known to load. `memory` may quantize the
    denoiser of diffusers folders and hub models as it loads."""
    quantization = (memory or MemorySaving()).quantization_config(dtype)
    options = {} if quantization is None else {"quantization_config": quantization}
    return _load(source, dtype, AutoPipelineForText2Image, allow_single_file=True, revision=revision, **options)


def place(
    pipe: DiffusionPipeline,
    device: torch.device,
    speedups: Speedups | None = None,
    memory: MemorySaving | None = None,
) -> DiffusionPipeline:
    """Move a loaded pipeline onto `device` (or offload it there) and apply `speedups`. The derived pipelines
    (`image_to_image`, `inpainting`) share its modules and so its speedups."""
    return apply_speedups((memory or MemorySaving()).place(pipe, device), speedups or Speedups())


def load_upscaler(model_id: str, device: torch.device, dtype: torch.dtype) -> DiffusionPipeline:
    """Load a dedicated upscaler pipeline (hub id or diffusers folder), e.g. the SD x4 upscaler."""
    return _load(model_id, dtype, DiffusionPipeline, allow_single_file=False).to(device)


def _load(
    model_id: str, dtype: torch.dtype, loader, *, allow_single_file: bool, revision: str | None = None, **options
) -> DiffusionPipeline:
    if looks_like_path(model_id):
        path = Path(model_id).expanduser()
        if not path.exists():
            raise ModelNotFoundError(
                f"Model {model_id!r} not found: tried it as a local path and nothing is there. "
                "Set MODEL_ID (or UPSCALER_MODEL) to an existing diffusers folder, a .safetensors/.ckpt file, or a "
                "Hugging Face hub id (e.g. stable-diffusion-v1-5/stable-diffusion-v1-5), or unset MODEL_ID to use "
                "the embedded default model."
            )
        if path.is_file() and not allow_single_file:
            raise ModelNotFoundError(f"{model_id!r} is a single file; this model must be a diffusers folder or hub id.")
        pipe = _load_single_file(path, dtype) if path.is_file() else _load_folder(path, dtype, loader, **options)
    else:
        pipe = _load_from_hub(model_id, dtype, loader, revision, **options)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _load_folder(path: Path, dtype: torch.dtype, loader, **options) -> DiffusionPipeline:
    if not (path / "model_index.json").is_file():
        raise ModelNotFoundError(
            f"Model folder {str(path)!r} has no model_index.json, so it is not a diffusers pipeline folder. "
            "Point MODEL_ID at a folder written by `pipeline.save_pretrained(...)`, or at a single "
            ".safetensors/.ckpt checkpoint file."
        )
    return loader.from_pretrained(path, dtype=dtype, **options)


def _load_single_file(path: Path, dtype: torch.dtype) -> DiffusionPipeline:
    if path.suffix not in CHECKPOINT_SUFFIXES:
        raise ModelNotFoundError(
            f"Model file {str(path)!r} is not a .safetensors or .ckpt checkpoint; MODEL_ID accepts those, "
            "a diffusers folder, or a Hugging Face hub id."
        )
    pipeline_class = StableDiffusionXLPipeline if _is_sdxl_checkpoint(path) else StableDiffusionPipeline
    try:
        return pipeline_class.from_single_file(path, dtype=dtype)
    except Exception as error:  # missing config download, foreign or damaged checkpoint: all mean "unusable"
        raise ModelNotFoundError(
            f"Could not load checkpoint {str(path)!r} as {pipeline_class.__name__}: {error}. "
            "Single-file loading fetches the matching config from the Hugging Face hub once; without internet, "
            "convert the checkpoint to a diffusers folder and point MODEL_ID at that folder."
        ) from error


def _is_sdxl_checkpoint(path: Path) -> bool:
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(path, framework="pt") as checkpoint:
            return SDXL_CHECKPOINT_KEY in checkpoint.keys()  # noqa: SIM118 (safe_open is not a mapping)
    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    return SDXL_CHECKPOINT_KEY in state.get("state_dict", state)


def _load_from_hub(
    model_id: str, dtype: torch.dtype, loader, revision: str | None = None, **options
) -> DiffusionPipeline:
    """Try the local hub cache first (instant, works offline), then the network."""
    try:
        return loader.from_pretrained(model_id, dtype=dtype, revision=revision, local_files_only=True, **options)
    except (OSError, ValueError):
        pass
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}
    if offline:
        raise ModelNotFoundError(
            f"Model {model_id!r} not found: it is not a local path, it is not in the Hugging Face cache, "
            "and HF_HUB_OFFLINE is set so it was not downloaded. Unset HF_HUB_OFFLINE to download it once, "
            "or set MODEL_ID to a local diffusers folder or .safetensors file."
        )
    _check_hub_reachable(model_id)
    try:
        return loader.from_pretrained(model_id, dtype=dtype, revision=revision, **options)
    except Exception as error:  # the hub client raises many unrelated error types for one cause
        raise ModelNotFoundError(
            f"Model {model_id!r} could not be downloaded from the Hugging Face hub "
            f"({type(error).__name__}: {error}). Check that it is a diffusers pipeline, or set MODEL_ID to a local "
            "diffusers folder or .safetensors file."
        ) from error


def download(model_id: str, revision: str | None = None) -> None:
    """Bring a hub model's pipeline files into the Hugging Face cache (what `from_pretrained` will read), with
    the hub client's progress bars; ModelNotFoundError with the cause when it cannot."""
    _check_hub_reachable(model_id)
    try:
        DiffusionPipeline.download(model_id, revision=revision)
    except Exception as error:  # the hub client raises many unrelated error types for one cause
        raise ModelNotFoundError(
            f"Model {model_id!r} could not be downloaded from the Hugging Face hub ({type(error).__name__}: {error})."
        ) from error


def _check_hub_reachable(model_id: str) -> None:
    """One quick metadata request, so that a missing network or a wrong id fails in seconds with the
    real cause instead of after the download client's retries."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        HfApi().model_info(model_id, timeout=HUB_PROBE_TIMEOUT_S)
    except GatedRepoError:
        raise ModelNotFoundError(
            f"Model {model_id!r} is gated on the Hugging Face hub: accept its licence on the model page and "
            "log in with `hf auth login` (or set HF_TOKEN)."
        ) from None
    except RepositoryNotFoundError:
        raise ModelNotFoundError(
            f"Model {model_id!r} not found: it is not a local path, not in the Hugging Face cache, and the hub has "
            "no such public model. Check the id (owner/name), log in for private models, or set MODEL_ID to a "
            "local diffusers folder or .safetensors file."
        ) from None
    except Exception as error:  # network failures surface as several transport error types
        raise ModelNotFoundError(
            f"Model {model_id!r} not found: it is not a local path, not in the Hugging Face cache, and the hub "
            f"could not be reached ({type(error).__name__}: {error}). Connect to the internet once to download it, "
            "or set MODEL_ID to a local diffusers folder or .safetensors file."
        ) from None


def image_to_image(pipe: DiffusionPipeline) -> DiffusionPipeline:
    """The img2img pipeline over the very same modules as `pipe` (no second copy of the weights)."""
    derived = AutoPipelineForImage2Image.from_pipe(pipe)
    derived.set_progress_bar_config(disable=True)
    return derived


def inpainting(pipe: DiffusionPipeline) -> DiffusionPipeline:
    """The inpainting pipeline over the same modules; a 4-channel UNet (or a FLUX.1/SD3 transformer) inpaints by
    mask blending."""
    derived = AutoPipelineForInpainting.from_pipe(pipe)
    derived.set_progress_bar_config(disable=True)
    return derived
