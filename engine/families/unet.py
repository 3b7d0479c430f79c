"""SD 1.x/2.x and SDXL: a UNet denoiser, CLIP prompts (weighted through compel), every sampler, seamless tiling."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

import torch
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

from engine.families.base import Family, PromptReader
from engine.preview import SD_FACTORS, SDXL_FACTORS
from engine.prompt_weights import PromptWeightError, parse_weights, uses_weights
from engine.request import GenerationRequest
from engine.results import RequestError
from engine.tiling import seamless


class UNetFamily(Family):
    label = "Stable Diffusion"
    pipelines = (StableDiffusionPipeline, StableDiffusionXLPipeline)
    tiles = True
    weighs_prompts = True
    ip_adapters = True

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

    @cached_property
    def _weighting(self):
        from engine.families.weighting import PromptWeighting  # compel loads only once a weighted prompt comes

        return PromptWeighting(self.pipe)

    def prompt_arguments(self, prompts: list[str], negatives: list[str], guidance: float) -> dict:
        """Text as the pipeline takes it, unless a prompt is weighted: then compel's embeddings (a batch is all
        weighted or all not, by `batch_key`, so an unweighted prompt never leaves this path)."""
        if not any(uses_weights(text) for text in (*prompts, *negatives)):
            return {"prompt": prompts, "negative_prompt": negatives, "guidance_scale": guidance}
        return self._weighting.arguments(prompts, negatives) | {"guidance_scale": guidance}

    def check(self, request: GenerationRequest) -> list[str]:
        for text in (request.prompt, request.negative_prompt):
            try:
                parse_weights(text)
            except PromptWeightError as error:  # a stored prompt from before weights were checked
                raise RequestError(f"The weights in this prompt cannot be used: {error}.") from None
        return super().check(request)

    @contextmanager
    def seamless(self, enabled: bool) -> Iterator[None]:
        with seamless(self.pipe.unet, self.pipe.vae, enabled=enabled):
            yield
