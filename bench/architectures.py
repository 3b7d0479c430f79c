"""The published model architectures, rebuilt with random weights so no download is needed.

Speed depends on shapes, not on weight values, so a random-weight SD 1.5 or SDXL does exactly
the work of the real one. The values below are the published `config.json` values of
runwayml/stable-diffusion-v1-5 and stabilityai/stable-diffusion-xl-base-1.0 (see
/work/shared/model-facts.md). Random weights must not produce NaN/inf, or some kernels would
short-circuit and the measurement would be fake, hence the variance-preserving `scale_init`
and the `bench.finite` guard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, PNDMScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, T5EncoderModel

from bench.flow_architectures import transformer_inputs
from engine.default_model.tokenizer import project_tokenizer
from engine.families import family_for

TEXT_TOKENS = 77

_SD_SCHEDULER = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "steps_offset": 1,
}

_SD15_UNET = {
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "block_out_channels": [320, 640, 1280, 1280],
    "layers_per_block": 2,
    "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
    "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
    "attention_head_dim": 8,
    "cross_attention_dim": 768,
}

_SDXL_UNET = {
    "sample_size": 128,
    "in_channels": 4,
    "out_channels": 4,
    "block_out_channels": [320, 640, 1280],
    "layers_per_block": 2,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "transformer_layers_per_block": [1, 2, 10],
    "attention_head_dim": [5, 10, 20],
    "cross_attention_dim": 2048,
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_embed_type_num_heads": 64,
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,
}

_SD_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512],
    "layers_per_block": 2,
    "latent_channels": 4,
    "norm_num_groups": 32,
}

_CLIP_L = {
    "vocab_size": 49408,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "max_position_embeddings": TEXT_TOKENS,
    "hidden_act": "quick_gelu",
    "projection_dim": 768,
}

_OPENCLIP_BIGG = {
    "vocab_size": 49408,
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_hidden_layers": 32,
    "num_attention_heads": 20,
    "max_position_embeddings": TEXT_TOKENS,
    "hidden_act": "gelu",
    "projection_dim": 1280,
}


@dataclass(frozen=True)
class Architecture:
    """One model family at its native resolution; `xl` selects the SDXL pipeline and inputs."""

    name: str
    resolution: int
    unet: dict
    vae: dict
    text_encoder: dict
    text_encoder_2: dict | None = None
    scheduler: str = "pndm"
    scheduler_config: dict = field(default_factory=lambda: dict(_SD_SCHEDULER))

    @property
    def xl(self) -> bool:
        return self.text_encoder_2 is not None

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae["block_out_channels"]) - 1)

    @property
    def latent_size(self) -> int:
        return self.resolution // self.vae_scale_factor


SD15 = Architecture("sd15", 512, _SD15_UNET, {**_SD_VAE, "sample_size": 512, "scaling_factor": 0.18215}, _CLIP_L)

SDXL = Architecture(
    "sdxl",
    1024,
    _SDXL_UNET,
    {**_SD_VAE, "sample_size": 1024, "scaling_factor": 0.13025, "force_upcast": True},
    _CLIP_L,
    text_encoder_2=_OPENCLIP_BIGG,
    scheduler="euler",
    scheduler_config={**_SD_SCHEDULER, "timestep_spacing": "leading"},
)

# SD 1.5's block types, shrunk so that building and running it in a test takes a second on a CPU.
TINY_SD = Architecture(
    "tiny-sd",
    32,
    {
        "sample_size": 16,
        "in_channels": 4,
        "out_channels": 4,
        "block_out_channels": [32, 64],
        "layers_per_block": 1,
        "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
        "attention_head_dim": 8,
        "cross_attention_dim": 32,
        "norm_num_groups": 32,
    },
    {
        "in_channels": 3,
        "out_channels": 3,
        "down_block_types": ["DownEncoderBlock2D"] * 2,
        "up_block_types": ["UpDecoderBlock2D"] * 2,
        "block_out_channels": [32, 64],
        "layers_per_block": 1,
        "latent_channels": 4,
        "norm_num_groups": 32,
        "sample_size": 32,
    },
    {
        **_CLIP_L,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "projection_dim": 32,
        "vocab_size": 1000,
    },
)

ARCHITECTURES = {arch.name: arch for arch in (TINY_SD, SD15, SDXL)}


def scale_init(module: torch.nn.Module, gain: float, generator: torch.Generator) -> None:
    """Re-draw every weight with std gain/sqrt(fan_in) and zero biases.

    With gain < 1 each residual branch adds less than it receives, so activations stay bounded
    through SDXL's 70 transformer blocks, even in fp16.
    """
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)):
                fan_in = layer.weight[0].numel()
                noise = torch.randn(layer.weight.shape, generator=generator, dtype=torch.float32)
                layer.weight.copy_(noise * (gain / math.sqrt(fan_in)))
                if layer.bias is not None:
                    layer.bias.zero_()
            elif isinstance(layer, torch.nn.Embedding):
                noise = torch.randn(layer.weight.shape, generator=generator, dtype=torch.float32)
                layer.weight.copy_(noise * 0.02)


def text_encoder_model(config: dict, *, projection: bool) -> torch.nn.Module:
    """CLIP text tower whose special-token ids match `project_tokenizer` (pooling finds the EOS)."""
    tokenizer = project_tokenizer(TEXT_TOKENS)
    ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    model_class = CLIPTextModelWithProjection if projection else CLIPTextModel
    return model_class(CLIPTextConfig(**config, **ids))


def build_components(arch: Architecture, *, seed: int = 0, gain: float = 0.5) -> dict:
    """The keyword arguments of the diffusers pipeline for `arch`, fp32 on the CPU."""
    generator = torch.Generator().manual_seed(seed)
    tokenizer = project_tokenizer(TEXT_TOKENS)
    components = {
        "unet": UNet2DConditionModel(**arch.unet),
        "vae": AutoencoderKL(**arch.vae),
        "text_encoder": text_encoder_model(arch.text_encoder, projection=False),
        "tokenizer": tokenizer,
    }
    if arch.xl:
        components["text_encoder_2"] = text_encoder_model(arch.text_encoder_2, projection=True)
        components["tokenizer_2"] = project_tokenizer(TEXT_TOKENS)
    scheduler_class = EulerDiscreteScheduler if arch.scheduler == "euler" else PNDMScheduler
    extra = {} if arch.scheduler == "euler" else {"skip_prk_steps": True, "set_alpha_to_one": False}
    components["scheduler"] = scheduler_class(**arch.scheduler_config, **extra)
    for component in components.values():
        if isinstance(component, torch.nn.Module):
            scale_init(component, gain, generator)
            component.eval().requires_grad_(False)
    return components


def unet_inputs(
    config, latent_size: int, batch: int, *, tokens: int = TEXT_TOKENS, device="cpu", dtype=torch.float32
) -> dict:
    """Keyword arguments of one UNet forward (`batch` counts the CFG copy), from the UNet's config alone."""
    inputs = {
        "sample": torch.randn(batch, config["in_channels"], latent_size, latent_size, device=device, dtype=dtype),
        "timestep": torch.tensor(999, device=device),
        "encoder_hidden_states": torch.randn(batch, tokens, config["cross_attention_dim"], device=device, dtype=dtype),
    }
    if config.get("addition_embed_type") == "text_time":
        time_ids = 6
        pooled = config["projection_class_embeddings_input_dim"] - time_ids * config["addition_time_embed_dim"]
        inputs["added_cond_kwargs"] = {
            "text_embeds": torch.randn(batch, pooled, device=device, dtype=dtype),
            "time_ids": torch.randn(batch, time_ids, device=device, dtype=dtype),
        }
    return inputs


def vae_latents(config, latent_size: int, batch: int, *, device="cpu", dtype=torch.float32) -> torch.Tensor:
    return torch.randn(batch, config["latent_channels"], latent_size, latent_size, device=device, dtype=dtype)


def prompt_ids(tokenizer, tokens: int, batch: int = 1, *, device="cpu") -> torch.Tensor:
    encoded = tokenizer(
        ["a photograph of an astronaut riding a horse"] * batch,
        padding="max_length",
        max_length=tokens,
        truncation=True,
        return_tensors="pt",
    )
    return encoded.input_ids.to(device)


def denoiser_inputs(denoiser: torch.nn.Module, latent_size: int, *, device="cpu", dtype=torch.float32) -> dict:
    """Keyword arguments of one forward of either kind of denoiser for one image (no CFG copy)."""
    if isinstance(denoiser, UNet2DConditionModel):
        return unet_inputs(denoiser.config, latent_size, 1, device=device, dtype=dtype)
    return transformer_inputs(denoiser, latent_size, device=device, dtype=dtype)


@dataclass(frozen=True)
class TextTower:
    """One text encoder of a pipeline, its tokenizer and the tokens the pipeline reads a prompt to."""

    encoder: torch.nn.Module
    tokenizer: Any
    tokens: int


def text_towers(pipe) -> list[TextTower]:
    """The pipeline's text encoders: CLIP (SD 1.x/2.x), two CLIPs (SDXL), CLIP + T5 (FLUX.1), two CLIPs + T5
    (SD3). CLIP reads its 77 positions; T5 as far as the family's prompt reader (FLUX.1 512, SD3 256 tokens)."""
    towers = []
    for suffix in ("", "_2", "_3"):
        encoder = getattr(pipe, f"text_encoder{suffix}", None)
        if encoder is None:
            continue
        tokenizer = getattr(pipe, f"tokenizer{suffix}")
        tokens = family_for(pipe).reader.window if isinstance(encoder, T5EncoderModel) else tokenizer.model_max_length
        towers.append(TextTower(encoder, tokenizer, tokens))
    return towers
