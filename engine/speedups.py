"""Speed settings applied once to a loaded pipeline: the benchmark's levers, as the engine runs them.

The same `apply_speedups` serves the engine (at model load) and the benchmark's naive pipeline, so
what `python -m bench` measures is exactly what the engine deploys. Every change is made to the
pipeline's modules in place; the image-to-image and inpainting pipelines built with `from_pipe`
share those modules, so applying once to the text-to-image pipeline covers them too.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import get_args

import torch
from diffusers import AutoencoderKL, DiffusionPipeline

from engine.families import family_for
from engine.settings import CompileSetting, EngineSettings

COMPILE_MODES: tuple[str, ...] = tuple(mode for mode in get_args(CompileSetting) if mode != "off")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Speedups:
    """Which speed levers a pipeline gets. All off is the plain diffusers pipeline."""

    channels_last: bool = False
    """UNet and VAE weights in channels-last memory layout (faster convolutions on tensor cores)."""
    fuse_qkv: bool = False
    """One matmul for query, key and value (key and value for cross-attention) in the UNet and VAE."""
    compile_mode: str | None = None
    """torch.compile mode for the UNet and the VAE decoder; 'reduce-overhead' also captures CUDA graphs.
    None: eager. Compilation happens on the first call at each shape (see `Engine.warm_up`)."""
    vae_tiling: bool = False
    """Decode images larger than the VAE's native size tile by tile: bounded memory, blended seams."""

    def __post_init__(self) -> None:
        if self.compile_mode is not None and self.compile_mode not in COMPILE_MODES:
            raise ValueError(f"compile mode {self.compile_mode!r} is not one of: off, {', '.join(COMPILE_MODES)}")

    @classmethod
    def from_settings(cls, settings: EngineSettings) -> Speedups:
        return cls(
            channels_last=settings.engine_channels_last,
            fuse_qkv=settings.engine_fuse_qkv,
            compile_mode=None if settings.engine_compile == "off" else settings.engine_compile,
            vae_tiling=settings.engine_vae_tiling,
        )

    def as_dict(self) -> dict:
        return asdict(self)


def apply_speedups(pipe: DiffusionPipeline, speedups: Speedups) -> DiffusionPipeline:
    """Apply `speedups` to `pipe`'s denoiser (UNet or transformer) and VAE in place (call once, after
    `.to(device)`) and return it.

    Fusion comes first because it replaces the attention projections, which the later memory
    layout change and compilation must see.
    """
    denoiser = family_for(pipe).denoiser
    if speedups.fuse_qkv:
        _fuse_qkv(pipe, denoiser)
    if speedups.channels_last:
        denoiser.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
    if speedups.vae_tiling:
        pipe.vae.enable_tiling()
    if speedups.compile_mode is not None:
        denoiser.compile(mode=speedups.compile_mode, fullgraph=True)
        pipe.vae.decoder.compile(mode=speedups.compile_mode, fullgraph=True)
    return pipe


def _fuse_qkv(pipe: DiffusionPipeline, denoiser: torch.nn.Module) -> None:
    # Each model's fuse_qkv_projections also installs its fused attention processor (the UNet's, FLUX.1's and
    # SD3's). SD3's fused processor in diffusers 0.42 leaves out the query/key norms SD3.5 adds, which changes
    # its images (measured on sd35-tiny: outputs off by up to 0.017), so SD3.5 keeps its separate projections.
    if getattr(denoiser.config, "qk_norm", None):
        log.warning("ENGINE_FUSE_QKV skipped for this model: fused attention would drop its query/key norms")
    elif hasattr(denoiser, "fuse_qkv_projections"):
        denoiser.fuse_qkv_projections()
    # diffusers fuses only AutoencoderKL's attention; other VAEs (the benchmark's tiny one) keep theirs.
    if isinstance(pipe.vae, AutoencoderKL):
        pipe.vae.fuse_qkv_projections()
