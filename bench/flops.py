"""Model FLOPs of one job, counted by PyTorch on the exact shapes the pipeline runs.

Counting runs on the meta device: shapes flow through the real diffusers forward code but no
arithmetic happens, so even SDXL is counted in a second on a laptop. 2 FLOP per multiply-add;
norms and activations are not counted (they are memory-bound and negligible next to matmuls).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from diffusers import FluxTransformer2DModel, SD3Transformer2DModel, UNet2DConditionModel
from torch.utils.flop_counter import FlopCounterMode

from bench.architectures import SD15, TEXT_TOKENS, text_encoders, unet_inputs, vae_latents
from bench.flow_architectures import FlowArchitecture

# model-facts.md: SD 1.5 UNet, batch 1, 64x64 latent, 77 tokens.
SD15_UNET_REFERENCE_TFLOP = 0.803


@dataclass(frozen=True)
class JobFlops:
    """FLOPs of one imagine job: `images` images, `steps` steps, CFG doubling the UNet batch."""

    unet_per_image_step: int
    vae_decode_per_image: int
    text_encoders_per_prompt: int
    images: int
    steps: int

    @property
    def total(self) -> int:
        cfg_batch = 2
        return (
            self.images * self.steps * cfg_batch * self.unet_per_image_step
            + self.images * self.vae_decode_per_image
            + cfg_batch * self.text_encoders_per_prompt
        )

    def as_dict(self) -> dict:
        return {**asdict(self), "total": self.total, "total_tflop": self.total / 1e12}


def _count(forward) -> int:
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        forward()
    return counter.get_total_flops()


def unet_flops(config, latent_size: int, *, tokens: int = TEXT_TOKENS, batch: int = 1) -> int:
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(config)
        inputs = unet_inputs(unet.config, latent_size, batch, tokens=tokens, device="meta")
    return _count(lambda: unet(**inputs))


def vae_decode_flops(vae_class, config, latent_size: int, batch: int = 1) -> int:
    with torch.device("meta"):
        vae = vae_class.from_config(config)
        sample = vae_latents(vae.config, latent_size, batch, device="meta")
    return _count(lambda: vae.decode(sample))


def text_encoder_flops(encoder_class, config) -> int:
    with torch.device("meta"):
        encoder = encoder_class(config)
        ids = torch.zeros(1, config.max_position_embeddings, dtype=torch.long)
    return _count(lambda: encoder(ids))


def sd15_unet_check() -> dict:
    """Our count for the SD 1.5 UNet against the published figure: the counter's own sanity check."""
    counted = unet_flops(SD15.unet, SD15.latent_size) / 1e12
    return {
        "counted_tflop": counted,
        "reference_tflop": SD15_UNET_REFERENCE_TFLOP,
        "ratio": counted / SD15_UNET_REFERENCE_TFLOP,
    }


def job_flops(pipe, resolution: int, *, images: int, steps: int) -> JobFlops:
    """FLOPs of one imagine job on `pipe`'s architecture, counted from its modules' configs."""
    latent_size = resolution // pipe.vae_scale_factor
    text = sum(text_encoder_flops(type(encoder), encoder.config) for encoder in text_encoders(pipe))
    return JobFlops(
        unet_flops(pipe.unet.config, latent_size, tokens=pipe.tokenizer.model_max_length),
        vae_decode_flops(type(pipe.vae), pipe.vae.config, latent_size),
        text,
        images,
        steps,
    )


# Published parameter counts (model cards): FLUX.1 [dev]/[schnell] "12 billion", SD3.5 Large "8.1 billion".
PUBLISHED_PARAMETERS = {"flux": 12e9, "sd35": 8.1e9}


def _flow_inputs(arch: FlowArchitecture, resolution: int) -> dict:
    """One transformer forward at `resolution`, batch 1, with the text tokens its pipeline passes by default."""
    config = arch.transformer
    latent = resolution // arch.vae_scale_factor
    tokens = flow_text_tokens(arch)
    inputs = {
        "encoder_hidden_states": torch.randn(1, tokens, config["joint_attention_dim"]),
        "pooled_projections": torch.randn(1, config["pooled_projection_dim"]),
        "timestep": torch.ones(1),
    }
    if arch.family == "sd3":
        return inputs | {"hidden_states": torch.randn(1, config["in_channels"], latent, latent)}
    patches = (latent // 2) ** 2
    return inputs | {
        "hidden_states": torch.randn(1, patches, config["in_channels"]),
        "img_ids": torch.zeros(patches, 3),
        "txt_ids": torch.zeros(tokens, 3),
        "guidance": torch.ones(1),
    }


def flow_text_tokens(arch: FlowArchitecture) -> int:
    """FLUX.1 reads 512 T5 tokens; SD3 joins 77 CLIP tokens and 256 T5 tokens into one sequence."""
    return 512 if arch.family == "flux" else TEXT_TOKENS + 256


def flow_image_tokens(arch: FlowArchitecture, resolution: int) -> int:
    return (resolution // arch.vae_scale_factor // 2) ** 2


def transformer_flops(arch: FlowArchitecture, resolution: int) -> tuple[int, int]:
    """(FLOPs of one transformer forward at `resolution`, its parameter count), counted on the meta device."""
    model_class = FluxTransformer2DModel if arch.family == "flux" else SD3Transformer2DModel
    with torch.device("meta"):
        transformer = model_class(**arch.transformer)
        inputs = _flow_inputs(arch, resolution)
    parameters = sum(parameter.numel() for parameter in transformer.parameters())
    return _count(lambda: transformer(**inputs)), parameters


def transformer_estimate(arch: FlowArchitecture, resolution: int) -> float:
    """The textbook count from the published shapes alone: every token passes 12·D² weights per block (attention
    projections 4·D², MLP 8·D²), 2 FLOP each, and attention adds 4·T²·D per block (QKᵀ and AV). FLUX.1 has
    19 double + 38 single blocks, SD3.5 Large 38 joint blocks; modulation works on one vector, not per token."""
    config = arch.transformer
    width = config["attention_head_dim"] * config["num_attention_heads"]
    blocks = config["num_layers"] + config.get("num_single_layers", 0)
    tokens = flow_image_tokens(arch, resolution) + flow_text_tokens(arch)
    return blocks * (24 * width**2 * tokens + 4 * tokens**2 * width)
