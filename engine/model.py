"""One loaded model: its text-to-image pipeline, the derived pipelines, its family and its LoRAs."""

from __future__ import annotations

import threading
from functools import cached_property

import torch
from diffusers import DiffusionPipeline

from engine import loading
from engine.adapters import Adapters
from engine.families import Family, family_for
from engine.ip_adapter import ImagePromptAdapter
from engine.registry import RegisteredModel


class LoadedModel:
    def __init__(self, entry: RegisteredModel, pipe: DiffusionPipeline, family: Family | None = None):
        self.entry = entry
        self.name = entry.name
        self.text_to_image = pipe
        self.family = family or family_for(pipe)
        self.adapters = Adapters(pipe, entry.name)
        self._derive_lock = threading.Lock()

    @property
    def vae_scale(self) -> int:
        return self.family.vae_scale

    @property
    def native_size(self) -> int:
        """The side length it was trained at (or what the operator's registry entry says)."""
        return self.entry.size or self.family.native_size

    @property
    def size_multiple(self) -> int:
        return self.family.size_multiple

    @property
    def token_window(self) -> int:
        return self.family.reader.window

    def latent_shape(self, width: int, height: int) -> tuple[int, int, int]:
        return self.family.latent_shape(width, height)

    def scheduler(self, sampler: str):
        return self.family.scheduler(sampler)

    @cached_property
    def image_to_image(self) -> DiffusionPipeline:
        with self._derive_lock:
            return loading.image_to_image(self.text_to_image)

    @cached_property
    def inpainting(self) -> DiffusionPipeline:
        with self._derive_lock:
            return loading.inpainting(self.text_to_image)

    @cached_property
    def ip_adapter(self) -> ImagePromptAdapter | None:
        """The registry entry's IP-Adapter for /blend, loaded on its first blend; None when it names none."""
        if self.entry.ip_adapter is None:
            return None
        return ImagePromptAdapter(self.text_to_image, self.entry.ip_adapter, self.name, self.family)

    @property
    def dtype(self) -> torch.dtype:
        return self.family.denoiser.dtype

    @property
    def device(self) -> torch.device:
        return self.family.denoiser.device
