"""SD 1.x/2.x and SDXL: a UNet denoiser, CLIP prompts, every sampler, seamless tiling."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

from engine.families.base import Family, PromptReader
from engine.preview import SD_FACTORS, SDXL_FACTORS
from engine.tiling import seamless


class UNetFamily(Family):
    label = "Stable Diffusion"
    pipelines = (StableDiffusionPipeline, StableDiffusionXLPipeline)
    tiles = True

    def __init__(self, pipe) -> None:
        super().__init__(pipe)
        self.preview_factors = SDXL_FACTORS if isinstance(pipe, StableDiffusionXLPipeline) else SD_FACTORS

    @property
    def denoiser(self) -> torch.nn.Module:
        return self.pipe.unet

    @property
    def native_size(self) -> int:
        """64 for the tiny default, 512 for SD 1.5, 1024 for SDXL."""
        return self.pipe.unet.config.sample_size * self.vae_scale

    @property
    def size_multiple(self) -> int:
        """64 for SD 1.5, 16 for the tiny model: every UNet downsampling stays exact."""
        downsamplings = len(self.pipe.unet.config.down_block_types) - 1
        return self.vae_scale * 2**downsamplings

    @property
    def reader(self) -> PromptReader:
        tokenizer = self.pipe.tokenizer
        return PromptReader(tokenizer, tokenizer.model_max_length, specials=2)

    def latent_shape(self, width: int, height: int) -> tuple[int, int, int]:
        return self.pipe.unet.config.in_channels, height // self.vae_scale, width // self.vae_scale

    @contextmanager
    def seamless(self, enabled: bool) -> Iterator[None]:
        with seamless(self.pipe.unet, self.pipe.vae, enabled=enabled):
            yield
