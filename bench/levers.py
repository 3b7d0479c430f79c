"""Measurement switches: each lever is one change to the naive diffusers pipeline.

Every lever is measured alone against the plain pipeline (and `all` together), so its own
effect shows. The speed levers are `engine.speedups.Speedups`, applied by the engine's own
`apply_speedups`, so a winner is turned on in the engine by its setting (see docs/engine.md); the
other fields here only describe how the benchmark builds and calls its pipeline. A lever that would
change nothing on a model, or change its images, is skipped there with the reason (`skip_reason`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import diffusers
import torch
from diffusers import SD3Transformer2DModel

from engine.families import Family
from engine.families.transformer import TransformerFamily
from engine.speedups import Speedups


@dataclass(frozen=True)
class PipelineOptions:
    """How the pipeline is built and called. Defaults are what the diffusers docs show a user."""

    dtype: str = "auto"
    """auto: the dtype the diffusers docs load the model's family in (`docs_dtype`)."""
    speedups: Speedups = Speedups()
    """The engine's speed settings (channels_last, fuse_qkv, compile_mode, vae_tiling)."""
    images_per_call: int = 1
    """Images in one pipeline call (several jobs packed together when above a job's image count)."""
    vae: str = "full"
    """full (the model's own VAE) or tiny (a TAESD-shaped AutoencoderTiny decoder)."""
    vae_dtype: str | None = None
    """None keeps the pipeline dtype."""
    preview_every: int = 0
    """Decode a preview every N denoising steps (0: no previews), as the bot's progress messages need."""

    def torch_dtype(self, device: torch.device, family: type[Family]) -> torch.dtype:
        if self.dtype == "auto":
            return docs_dtype(device, family)
        return getattr(torch, self.dtype)

    def as_dict(self) -> dict:
        return asdict(self)


def docs_dtype(device: torch.device, family: type[Family]) -> torch.dtype:
    """float32 on the CPU; on CUDA what the docs show: `torch.float16` for SD 1.x/2.x and SDXL, `torch.bfloat16`
    for FLUX.1 and SD3.5 (their model cards)."""
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if issubclass(family, TransformerFamily) else torch.float16


BASELINE = PipelineOptions()

LEVERS: dict[str, PipelineOptions] = {
    "baseline": BASELINE,
    "bf16": replace(BASELINE, dtype="bfloat16"),
    "channels_last": replace(BASELINE, speedups=Speedups(channels_last=True)),
    "fused_qkv": replace(BASELINE, speedups=Speedups(fuse_qkv=True)),
    "compile": replace(BASELINE, speedups=Speedups(compile_mode="default")),
    "compile_autotune": replace(BASELINE, speedups=Speedups(compile_mode="max-autotune-no-cudagraphs")),
    "cuda_graphs": replace(BASELINE, speedups=Speedups(compile_mode="reduce-overhead")),
    "batch4": replace(BASELINE, images_per_call=4),
    "batch8": replace(BASELINE, images_per_call=8),
    "batch16": replace(BASELINE, images_per_call=16),
    "vae_bf16": replace(BASELINE, vae_dtype="bfloat16"),
    "vae_tiled": replace(BASELINE, speedups=Speedups(vae_tiling=True)),
    "vae_tiny": replace(BASELINE, vae="tiny"),
    "preview_every_step": replace(BASELINE, preview_every=1),
    "preview_every_5": replace(BASELINE, preview_every=5),
    "all": PipelineOptions(
        dtype="bfloat16",
        images_per_call=16,
        speedups=Speedups(channels_last=True, fuse_qkv=True, compile_mode="default"),
    ),
}

# Levers that only make sense (or only finish in minutes) on a GPU.
GPU_ONLY = frozenset({"bf16", "compile", "compile_autotune", "cuda_graphs", "vae_bf16", "all"})
# Levers left out of the default GPU suite: max-autotune benchmarks GEMM configurations for many minutes.
OPT_IN = frozenset({"compile_autotune"})


def _no_effect(options: PipelineOptions, family: Family, device: torch.device) -> dict[str, str]:
    """For each field of `options` that would change nothing on this model, why."""
    baseline_dtype = BASELINE.torch_dtype(device, type(family))
    dtype_name = str(baseline_dtype).removeprefix("torch.")
    reasons = {}
    if options.torch_dtype(device, type(family)) == baseline_dtype:
        reasons["dtype"] = f"the baseline already runs {family.label} in {dtype_name}, as its docs load it"
    if options.vae_dtype is not None and getattr(torch, options.vae_dtype) == baseline_dtype:
        reasons["vae_dtype"] = f"the baseline's VAE already runs in {dtype_name}"
    return reasons


def _fusion_changes_images(family: Family) -> str | None:
    # diffusers' fused SD3 attention processor (FusedJointAttnProcessor2_0) leaves out the query/key RMS norms
    # that SD3.5 adds (qk_norm): the fused model computes other images, so its time is not this model's.
    denoiser = family.denoiser
    if isinstance(denoiser, SD3Transformer2DModel) and denoiser.config.qk_norm:
        return (
            f"fused QKV changes the images of this {family.label} model: diffusers {diffusers.__version__}'s "
            "FusedJointAttnProcessor2_0 leaves out its query/key RMS norms (qk_norm)"
        )
    return None


def skip_reason(options: PipelineOptions, family: Family, device: torch.device) -> str | None:
    """Why the lever is not measured on this model (it would change the images, or every field it changes has
    no effect here), or None when it applies."""
    if options.speedups.fuse_qkv and (reason := _fusion_changes_images(family)):
        return reason
    changed = [field.name for field in fields(options) if getattr(options, field.name) != getattr(BASELINE, field.name)]
    reasons = _no_effect(options, family, device)
    if changed and all(name in reasons for name in changed):
        return "; ".join(reasons[name] for name in changed)
    return None
