"""Measurement switches: each lever is one change to the naive diffusers pipeline.

Every lever is measured alone against the plain pipeline (and `all` together), so its own
effect shows. The speed levers are `engine.speedups.Speedups`, applied by the engine's own
`apply_speedups`, so a winner is turned on in the engine by its setting (see docs/engine.md); the
other fields here only describe how the benchmark builds and calls its pipeline.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch

from engine.speedups import Speedups


@dataclass(frozen=True)
class PipelineOptions:
    """How the pipeline is built and called. Defaults are what the diffusers docs show a user."""

    dtype: str = "auto"
    """auto: float16 on CUDA, float32 on the CPU (the docs' `torch_dtype=torch.float16`)."""
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
