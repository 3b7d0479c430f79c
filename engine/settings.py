"""Engine configuration, read from the environment (or a `.env` file) by pydantic-settings."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

CompileSetting = Literal["off", "default", "max-autotune-no-cudagraphs", "reduce-overhead"]


class EngineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore", protected_namespaces=())

    model_id: str | None = None
    """Hub id, local diffusers folder or single .safetensors/.ckpt file; None uses the embedded default."""
    upscaler_model: str | None = None
    """Optional dedicated upscaler (e.g. stabilityai/stable-diffusion-x4-upscaler) for the upscale operation."""
    engine_device: str | None = None
    engine_dtype: str | None = None
    max_pixels: int = 1024 * 1024
    default_steps: int = 30
    default_guidance: float = 7.0
    default_sampler: str | None = None
    """None uses `engine.samplers.DEFAULT_SAMPLER`."""

    # Speed settings (engine/speedups.py). All off until the GPU benchmark says which pay off
    # (docs/performance.md); each keeps images within the tolerance stated in docs/engine.md.
    engine_channels_last: bool = False
    engine_fuse_qkv: bool = False
    engine_compile: CompileSetting = "off"
    """torch.compile mode for the UNet and VAE decoder; compiles at worker start (`Engine.warm_up`)."""
    engine_vae_tiling: bool = False
