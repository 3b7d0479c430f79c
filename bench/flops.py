"""Model FLOPs of one job, counted by PyTorch on the exact shapes the pipeline runs.

Counting runs on the meta device: shapes flow through the real diffusers forward code but no
arithmetic happens, so even FLUX.1 is counted in a second on a laptop. 2 FLOP per multiply-add;
norms and activations are not counted (they are memory-bound and negligible next to matmuls).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from diffusers import UNet2DConditionModel
from torch.utils.flop_counter import FlopCounterMode

from bench.architectures import SD15, TextTower, denoiser_inputs, text_towers, vae_latents
from bench.flow_architectures import FlowArchitecture, text_tokens
from engine.families import family_for

# model-facts.md: SD 1.5 UNet, batch 1, 64x64 latent, 77 tokens.
SD15_UNET_REFERENCE_TFLOP = 0.803


@dataclass(frozen=True)
class JobFlops:
    """FLOPs of one imagine job: `images` images, `steps` steps. `guidance_batch` is 2 where classifier-free
    guidance runs the denoiser and the text encoders on the prompt and the negative prompt (SD, SDXL, SD3),
    1 where guidance is distilled into the model (FLUX.1)."""

    denoiser_per_image_step: int
    vae_decode_per_image: int
    text_encoders_per_prompt: int
    guidance_batch: int
    images: int
    steps: int

    @property
    def total(self) -> int:
        return (
            self.images * self.steps * self.guidance_batch * self.denoiser_per_image_step
            + self.images * self.vae_decode_per_image
            + self.guidance_batch * self.text_encoders_per_prompt
        )

    def as_dict(self) -> dict:
        return {**asdict(self), "total": self.total, "total_tflop": self.total / 1e12}


def _count(forward) -> int:
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        forward()
    return counter.get_total_flops()


def denoiser_flops(denoiser: torch.nn.Module, latent_size: int) -> int:
    """One forward of a UNet or transformer for one image, on a meta-device copy built from its config."""
    with torch.device("meta"):
        copy = type(denoiser).from_config(denoiser.config)
        inputs = denoiser_inputs(copy, latent_size, device="meta")
    return _count(lambda: copy(**inputs))


def vae_decode_flops(vae_class, config, latent_size: int, batch: int = 1) -> int:
    with torch.device("meta"):
        vae = vae_class.from_config(config)
        sample = vae_latents(vae.config, latent_size, batch, device="meta")
    return _count(lambda: vae.decode(sample))


def text_encoder_flops(tower: TextTower) -> int:
    with torch.device("meta"):
        encoder = type(tower.encoder)(tower.encoder.config)
        ids = torch.zeros(1, tower.tokens, dtype=torch.long)
    return _count(lambda: encoder(ids))


def sd15_unet_check() -> dict:
    """Our count for the SD 1.5 UNet against the published figure: the counter's own sanity check."""
    with torch.device("meta"):
        unet = UNet2DConditionModel(**SD15.unet)
    counted = denoiser_flops(unet, SD15.latent_size) / 1e12
    return {
        "counted_tflop": counted,
        "reference_tflop": SD15_UNET_REFERENCE_TFLOP,
        "ratio": counted / SD15_UNET_REFERENCE_TFLOP,
    }


def job_flops(pipe, resolution: int, *, guidance_batch: int, images: int, steps: int) -> JobFlops:
    """FLOPs of one imagine job on `pipe`'s architecture, counted from its modules' configs."""
    latent_size = resolution // pipe.vae_scale_factor
    return JobFlops(
        denoiser_flops(family_for(pipe).denoiser, latent_size),
        vae_decode_flops(type(pipe.vae), pipe.vae.config, latent_size),
        sum(text_encoder_flops(tower) for tower in text_towers(pipe)),
        guidance_batch,
        images,
        steps,
    )


# Published parameter counts (model cards): FLUX.1 [dev]/[schnell] "12 billion", SD3.5 Large "8.1 billion".
PUBLISHED_PARAMETERS = {"flux": 12e9, "sd35": 8.1e9}


def transformer_flops(arch: FlowArchitecture, resolution: int) -> tuple[int, int]:
    """(FLOPs of one transformer forward at `resolution`, batch 1, its parameter count), counted on the meta
    device."""
    with torch.device("meta"):
        transformer = arch.transformer_class(**arch.transformer)
    parameters = sum(parameter.numel() for parameter in transformer.parameters())
    return denoiser_flops(transformer, resolution // arch.vae_scale_factor), parameters


def transformer_estimate(arch: FlowArchitecture, resolution: int) -> float:
    """The textbook count from the published shapes alone: every token passes 12·D² weights per block (attention
    projections 4·D², MLP 8·D²), 2 FLOP each, and attention adds 4·T²·D per block (QKᵀ and AV). FLUX.1 has
    19 double + 38 single blocks, SD3.5 Large 38 joint blocks; modulation works on one vector, not per token."""
    config = arch.transformer
    width = config["attention_head_dim"] * config["num_attention_heads"]
    blocks = config["num_layers"] + config.get("num_single_layers", 0)
    image_tokens = (resolution // arch.vae_scale_factor // 2) ** 2
    tokens = image_tokens + text_tokens(arch.transformer_class)
    return blocks * (24 * width**2 * tokens + 4 * tokens**2 * width)
