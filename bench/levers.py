"""Measurement switches: each lever is one change to the naive diffusers pipeline.

Every lever is measured alone against the plain pipeline (and `all` together), so its own
effect shows; the ones that win become engine settings (see docs/performance.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch


@dataclass(frozen=True)
class PipelineOptions:
    """How the pipeline is built and called. Defaults are what the diffusers docs show a user."""

    dtype: str = "auto"
    """auto: float16 on CUDA, float32 on the CPU (the docs' `torch_dtype=torch.float16`)."""
    channels_last: bool = False
    fuse_qkv: bool = False
    compile_mode: str | None = None
    """torch.compile mode for the UNet and VAE decoder ('default', 'max-autotune-no-cudagraphs');
    'reduce-overhead' also captures CUDA graphs. None: eager."""
    images_per_call: int = 1
    """Images in one pipeline call (several jobs packed together when above a job's image count)."""
    vae: str = "full"
    """full, tiled (`vae.enable_tiling()`) or tiny (a TAESD-shaped AutoencoderTiny decoder)."""
    vae_dtype: str | None = None
    """None keeps the pipeline dtype."""
    preview_every: int = 0
    """Decode a preview every N denoising steps (0: no previews), as the bot's progress messages need."""

    def torch_dtype(self, device: torch.device) -> torch.dtype:
        if self.dtype == "auto":
            return torch.float16 if device.type == "cuda" else torch.float32
        return getattr(torch, self.dtype)

    def as_dict(self) -> dict:
        return asdict(self)


BASELINE = PipelineOptions()

LEVERS: dict[str, PipelineOptions] = {
    "baseline": BASELINE,
    "bf16": replace(BASELINE, dtype="bfloat16"),
    "channels_last": replace(BASELINE, channels_last=True),
    "fused_qkv": replace(BASELINE, fuse_qkv=True),
    "compile": replace(BASELINE, compile_mode="default"),
    "compile_autotune": replace(BASELINE, compile_mode="max-autotune-no-cudagraphs"),
    "cuda_graphs": replace(BASELINE, compile_mode="reduce-overhead"),
    "batch4": replace(BASELINE, images_per_call=4),
    "batch8": replace(BASELINE, images_per_call=8),
    "batch16": replace(BASELINE, images_per_call=16),
    "vae_bf16": replace(BASELINE, vae_dtype="bfloat16"),
    "vae_tiled": replace(BASELINE, vae="tiled"),
    "vae_tiny": replace(BASELINE, vae="tiny"),
    "preview_every_step": replace(BASELINE, preview_every=1),
    "preview_every_5": replace(BASELINE, preview_every=5),
    "all": PipelineOptions(dtype="bfloat16", channels_last=True, fuse_qkv=True,
                           compile_mode="default", images_per_call=16),
}

# Levers that only make sense (or only finish in minutes) on a GPU.
GPU_ONLY = frozenset({"bf16", "compile", "compile_autotune", "cuda_graphs", "vae_bf16", "all"})
# Levers left out of the default GPU suite: max-autotune benchmarks GEMM configurations for many minutes.
OPT_IN = frozenset({"compile_autotune"})
