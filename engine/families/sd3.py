"""Stable Diffusion 3 and 3.5: a patchifying transformer (MMDiT) over 16-channel latents, prompts read by
two CLIP encoders and T5 (optional: without it, only CLIP's 77 tokens), classifier-free guidance."""

from __future__ import annotations

from diffusers import StableDiffusion3Pipeline

from engine.families.base import PromptReader
from engine.families.transformer import TransformerFamily
from engine.preview import SD3_FACTORS

# StableDiffusion3Pipeline's default max_sequence_length: the T5 tokens a prompt is read to.
T5_WINDOW = 256


class SD3Family(TransformerFamily):
    label = "SD3"
    pipelines = (StableDiffusion3Pipeline,)
    preview_factors = SD3_FACTORS

    @property
    def native_size(self) -> int:
        return self.pipe.transformer.config.sample_size * self.vae_scale

    @property
    def size_multiple(self) -> int:
        return self.vae_scale * self.pipe.transformer.config.patch_size

    @property
    def reader(self) -> PromptReader:
        if self.pipe.text_encoder_3 is None:
            return PromptReader(self.pipe.tokenizer, self.pipe.tokenizer.model_max_length, specials=2)
        return PromptReader(self.pipe.tokenizer_3, T5_WINDOW, specials=1)

    def latent_shape(self, width: int, height: int) -> tuple[int, int, int]:
        return self.pipe.transformer.config.in_channels, height // self.vae_scale, width // self.vae_scale
