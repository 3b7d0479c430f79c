"""One loaded model: its text-to-image pipeline, the derived pipelines, and what it can draw."""

from __future__ import annotations

import threading
from functools import cached_property

import diffusers
import torch
from diffusers import DiffusionPipeline

from engine import loading
from engine.registry import RegisteredModel
from engine.samplers import SAMPLERS, normalize_sampler


class LoadedModel:
    def __init__(self, entry: RegisteredModel, pipe: DiffusionPipeline):
        self.entry = entry
        self.name = entry.name
        self.text_to_image = pipe
        self._base_scheduler_config = dict(pipe.scheduler.config)
        self._derive_lock = threading.Lock()

    @property
    def vae_scale(self) -> int:
        return self.text_to_image.vae_scale_factor

    @property
    def native_size(self) -> int:
        """The side length it was trained at: 64 for the tiny default, 512 for SD 1.5, 1024 for SDXL (or what
        the operator's registry entry says)."""
        return self.entry.size or self.text_to_image.unet.config.sample_size * self.vae_scale

    @property
    def size_multiple(self) -> int:
        """Sides divisible by this keep every UNet downsampling exact (64 for SD 1.5, 16 for the tiny model)."""
        downsamplings = len(self.text_to_image.unet.config.down_block_types) - 1
        return self.vae_scale * 2**downsamplings

    @property
    def is_sdxl(self) -> bool:
        return isinstance(self.text_to_image, diffusers.StableDiffusionXLPipeline)

    @property
    def token_window(self) -> int:
        return self.text_to_image.tokenizer.model_max_length

    def latent_shape(self, width: int, height: int) -> tuple[int, int, int]:
        channels = self.text_to_image.unet.config.in_channels
        return channels, height // self.vae_scale, width // self.vae_scale

    def count_tokens(self, text: str) -> list[int]:
        return self.text_to_image.tokenizer(text, truncation=False, verbose=False).input_ids

    def scheduler(self, sampler: str):
        """A fresh scheduler per run: schedulers keep per-run state, and pipelines share modules."""
        spec = SAMPLERS[normalize_sampler(sampler)]
        return getattr(diffusers, spec.class_name).from_config(self._base_scheduler_config, **dict(spec.config))

    @cached_property
    def image_to_image(self) -> DiffusionPipeline:
        with self._derive_lock:
            return loading.image_to_image(self.text_to_image)

    @cached_property
    def inpainting(self) -> DiffusionPipeline:
        with self._derive_lock:
            return loading.inpainting(self.text_to_image)

    @property
    def dtype(self) -> torch.dtype:
        return self.text_to_image.unet.dtype

    @property
    def device(self) -> torch.device:
        return self.text_to_image.unet.device
