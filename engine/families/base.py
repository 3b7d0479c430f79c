"""The interface every model family implements: what differs between SD/SDXL UNets, FLUX.1 and SD3.

The engine asks a `Family` everything that depends on the architecture (sizes, latent layout, how prompts
and guidance are passed, samplers, previews, tiling, what cannot be done) and never which family it holds.
A new family is one module under `engine/families/` with a subclass, listed in `FAMILIES`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import diffusers
import torch
from diffusers import DiffusionPipeline
from PIL import Image

from engine.preview import LatentFactors, latent_previews
from engine.prompt_weights import plain_text, uses_weights
from engine.request import GenerationRequest
from engine.results import RequestError
from engine.samplers import DEFAULT_SAMPLER, SAMPLERS, UnknownSamplerError, normalize_sampler

DROPPED_TEXT_SHOWN = 60


@dataclass(frozen=True)
class PromptReader:
    """The tokenizer that reads a prompt furthest, the tokens it reads (special ones included) and how many
    special tokens it adds: 2 for CLIP (start, end), 1 for T5 (end)."""

    tokenizer: Any
    window: int
    specials: int

    def tokens(self, text: str) -> list[int]:
        return self.tokenizer(text, truncation=False, verbose=False).input_ids

    def truncation(self, label: str, text: str) -> str | None:
        """A warning naming what the model did not read of `text`, or None when it reads all of it."""
        ids = self.tokens(text)
        if len(ids) <= self.window:
            return None
        # Both CLIP and T5 keep the first window - 1 tokens and close with the end token.
        dropped = self.tokenizer.decode(ids[self.window - 1 : -1]).strip()
        if len(dropped) > DROPPED_TEXT_SHOWN:
            dropped = dropped[:DROPPED_TEXT_SHOWN] + "…"
        return (
            f"Your {label} is {len(ids) - self.specials} tokens but the model reads only "
            f"{self.window - self.specials}; the end was ignored: “{dropped}”"
        )


class Family(ABC):
    """One kind of text-to-image pipeline. Subclasses set the class attributes and the abstract parts."""

    label: ClassVar[str]
    """How members and operators know the family, in messages: 'FLUX.1', 'SD3', 'Stable Diffusion'."""
    pipelines: ClassVar[tuple[type[DiffusionPipeline], ...]]
    """The text-to-image pipeline classes this family drives."""
    samplers: ClassVar[tuple[str, ...] | None] = None
    """The `engine.samplers` names it offers, the first one its default; None: all of them."""
    tiles: ClassVar[bool] = False
    """Whether `--tile` (seamless tiling) works."""
    weighs_prompts: ClassVar[bool] = False
    """Whether `::` and `(words:weight)` weights reach the model; others read the words alone and say so."""
    ip_adapters: ClassVar[bool] = False
    """Whether a registry entry's `ip_adapter` can condition /blend (`engine.ip_adapter`); others refuse such blends."""
    preview_factors: LatentFactors
    """The latent→RGB projection of its latent space (`engine.preview`)."""

    def __init__(self, pipe: DiffusionPipeline) -> None:
        self.pipe = pipe
        # Runs replace pipe.scheduler; every run's scheduler is built from the one the model came with.
        self._scheduler_config = dict(pipe.scheduler.config)

    @property
    @abstractmethod
    def denoiser(self) -> torch.nn.Module:
        """The network run at every step (UNet or transformer): what speedups, LoRAs and batches are about."""

    @property
    def vae_scale(self) -> int:
        return self.pipe.vae_scale_factor

    @property
    @abstractmethod
    def native_size(self) -> int:
        """The side length it was trained at, read from the model."""

    @property
    @abstractmethod
    def size_multiple(self) -> int:
        """Image sides divisible by this keep every downsampling or patching exact."""

    @property
    @abstractmethod
    def reader(self) -> PromptReader:
        """The tokenizer that reads prompts furthest, for truncation warnings."""

    @property
    def default_guidance(self) -> float | None:
        """The guidance a model of this family needs when neither request nor preset sets one; None: settings'."""
        return None

    @abstractmethod
    def latent_shape(self, width: int, height: int) -> tuple[int, int, int]:
        """One image's initial noise shape (channels, height, width), before any packing."""

    def pack(self, noise: torch.Tensor) -> torch.Tensor:
        """Initial noise (batch, channels, height, width) as the pipeline's `latents` argument takes it."""
        return noise

    def unpack(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        """Step latents back to (batch, channels, height, width), for previews."""
        return latents

    def previews(self, latents: torch.Tensor, width: int, height: int) -> list[Image.Image]:
        return latent_previews(self.unpack(latents, width, height), self.preview_factors)

    def prompt_arguments(self, prompts: list[str], negatives: list[str], guidance: float) -> dict:
        """The pipeline keyword arguments for the prompts and guidance of one batch; weights are left out (`check`
        warned)."""
        return {
            "prompt": [plain_text(prompt) for prompt in prompts],
            "negative_prompt": [plain_text(negative) for negative in negatives],
            "guidance_scale": guidance,
        }

    def image_to_image_size(self, width: int, height: int) -> dict:
        """Size arguments for the image-to-image pipeline; UNet pipelines take the size from the image."""
        return {}

    def check(self, request: GenerationRequest) -> list[str]:
        """Warnings for what this family ignores in `request`; RequestError for what it cannot do."""
        if request.tile and not self.tiles:
            raise RequestError(
                f"--tile is not available for {self.label} models: seamless tiling works on UNet models "
                "(SD 1.x/2.x, SDXL). Leave --tile out, or choose such a model with --model."
            )
        if self.weighs_prompts:
            return []
        return [
            f"{self.label} models cannot weight prompts, so the model read your {label} without its weights: "
            f"“{plain_text(text)}”"
            for label, text in (("prompt", request.prompt), ("--no", request.negative_prompt))
            if uses_weights(text)
        ]

    def pick_sampler(self, typed: str | None, defaults: Iterable[str | None]) -> str:
        """The sampler for a run. One the member typed (`--sampler`, or a stored request's resolved one) must be
        offered: RequestError otherwise, naming --sampler. Defaults never refuse a job: the first of `defaults`
        this family offers wins (the engine passes the member's /settings sampler, the model's MODELS entry's,
        then DEFAULT_SAMPLER), else the family's own."""
        if typed is not None:
            name = _known_sampler(typed)
            if self.offers(name):
                return name
            raise RequestError(
                f"--sampler {name} is not available for {self.label} models; use --sampler "
                f"{' or '.join(self.samplers or SAMPLERS)}, or leave --sampler out."
            )
        for default in defaults:
            if default is not None and self.offers(name := _known_sampler(default)):
                return name
        return self.samplers[0] if self.samplers else DEFAULT_SAMPLER

    def offers(self, sampler: str) -> bool:
        return self.samplers is None or sampler in self.samplers

    def image_strength(self, strength: float, steps: int) -> float:
        """The `strength` argument that makes this family's image-to-image and inpainting pipelines denoise
        `int(steps × strength)` of `steps` steps (the engine keeps it at least one), as the UNet pipelines do."""
        return strength

    def scheduler(self, sampler: str):
        """A fresh scheduler per run: schedulers keep per-run state, and pipelines share modules."""
        spec = SAMPLERS[normalize_sampler(sampler)]
        return getattr(diffusers, spec.class_name).from_config(self._scheduler_config, **dict(spec.config))

    @contextmanager
    def seamless(self, enabled: bool) -> Iterator[None]:
        """Make this run's images wrap at their edges (`--tile`), for this run only."""
        if enabled:  # `check` refuses such requests before they run
            raise RequestError(f"--tile is not available for {self.label} models.")
        yield


def _known_sampler(name: str) -> str:
    try:
        return normalize_sampler(name)
    except UnknownSamplerError as error:
        raise RequestError(str(error)) from None
