"""FLUX.1 (schnell, dev and fine-tunes): a transformer over 2×2-packed 16-channel latents, T5 + CLIP prompts.

Guidance is distilled into the model: dev reads `guidance_scale` as an input (3.5 by default), schnell reads
none at all, and neither runs classifier-free guidance, so a negative prompt has no effect: the member is told.
"""

from __future__ import annotations

import torch
from diffusers import FluxPipeline

from engine.families.base import PromptReader
from engine.families.transformer import TransformerFamily
from engine.preview import FLUX_FACTORS
from engine.prompt_weights import plain_text
from engine.request import GenerationRequest

# The pipelines' default guidance for models that read one (FLUX.1-dev).
DISTILLED_GUIDANCE = 3.5
# FluxPipeline's default max_sequence_length: the T5 tokens a prompt is read to.
T5_WINDOW = 512


class FluxFamily(TransformerFamily):
    label = "FLUX.1"
    pipelines = (FluxPipeline,)
    preview_factors = FLUX_FACTORS

    @property
    def reads_guidance(self) -> bool:
        return bool(self.pipe.transformer.config.guidance_embeds)

    @property
    def native_size(self) -> int:
        return self.pipe.default_sample_size * self.vae_scale

    @property
    def size_multiple(self) -> int:
        """Latents are packed 2×2 into tokens, so latent sides must be even."""
        return self.vae_scale * 2

    @property
    def reader(self) -> PromptReader:
        return PromptReader(self.pipe.tokenizer_2, T5_WINDOW, specials=1)

    @property
    def default_guidance(self) -> float:
        return DISTILLED_GUIDANCE if self.reads_guidance else 0.0

    def latent_shape(self, width: int, height: int) -> tuple[int, int, int]:
        channels = self.pipe.transformer.config.in_channels // 4
        return channels, height // self.vae_scale, width // self.vae_scale

    def pack(self, noise: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = noise.shape
        return FluxPipeline._pack_latents(noise, batch, channels, height, width)

    def unpack(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        return FluxPipeline._unpack_latents(latents, height, width, self.vae_scale)

    def prompt_arguments(self, prompts: list[str], negatives: list[str], guidance: float) -> dict:
        # No negative prompt: without true CFG (true_cfg_scale 1) the pipeline would encode it for nothing.
        return {"prompt": [plain_text(prompt) for prompt in prompts], "guidance_scale": guidance}

    def check(self, request: GenerationRequest) -> list[str]:
        warnings = super().check(request)
        if request.negative_prompt:
            warnings.append(
                f"{self.label} models have no negative prompt (their guidance is distilled), so "
                f"“--no {request.negative_prompt}” had no effect."
            )
        if request.guidance and not self.reads_guidance:
            warnings.append(f"This {self.label} model takes no guidance, so --cfg had no effect.")
        return warnings
