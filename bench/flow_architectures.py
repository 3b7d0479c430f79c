"""FLUX.1 and SD3.5, rebuilt from their published configs with random weights (no download), and the tiny
versions of the same blocks that tests and CPU runs use.

The values are the published `config.json` values of black-forest-labs/FLUX.1-dev (FLUX.1-schnell differs
only by `guidance_embeds: false`) and stabilityai/stable-diffusion-3.5-large: transformer, 16-channel VAE,
CLIP-L (+ OpenCLIP bigG for SD3.5) and T5-XXL text encoders, flow-matching Euler scheduler. The tokenizers
are built locally: the project's CLIP tokenizer and a small T5 (Unigram) vocabulary, which only changes
which ids a prompt becomes, not the work done on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from diffusers import (
    AutoencoderKL,
    FlowMatchEulerDiscreteScheduler,
    FluxPipeline,
    FluxTransformer2DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
)
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    T5Config,
    T5EncoderModel,
)

from bench.t5_vocabulary import t5_tokenizer
from engine.default_model.tokenizer import project_tokenizer
from engine.families import flux, sd3

CLIP_TOKENS = 77
_FLUX_TRANSFORMER = {
    "patch_size": 1,
    "in_channels": 64,
    "num_layers": 19,
    "num_single_layers": 38,
    "attention_head_dim": 128,
    "num_attention_heads": 24,
    "joint_attention_dim": 4096,
    "pooled_projection_dim": 768,
    "guidance_embeds": True,
    "axes_dims_rope": [16, 56, 56],
}
_SD35_LARGE_TRANSFORMER = {
    "sample_size": 128,
    "patch_size": 2,
    "in_channels": 16,
    "num_layers": 38,
    "attention_head_dim": 64,
    "num_attention_heads": 38,
    "joint_attention_dim": 4096,
    "caption_projection_dim": 2432,
    "pooled_projection_dim": 2048,
    "out_channels": 16,
    "pos_embed_max_size": 192,
    "qk_norm": "rms_norm",
}
_VAE_16 = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512],
    "layers_per_block": 2,
    "latent_channels": 16,
    "norm_num_groups": 32,
    "sample_size": 1024,
    "use_quant_conv": False,
    "use_post_quant_conv": False,
}
_CLIP_L = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "projection_dim": 768,
    "hidden_act": "quick_gelu",
}
_CLIP_G = {
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_hidden_layers": 32,
    "num_attention_heads": 20,
    "projection_dim": 1280,
    "hidden_act": "gelu",
}
_T5_XXL = {
    "vocab_size": 32128,
    "d_model": 4096,
    "d_kv": 64,
    "d_ff": 10240,
    "num_layers": 24,
    "num_heads": 64,
    "feed_forward_proj": "gated-gelu",
}
_FLUX_SCHEDULER = {"shift": 3.0, "use_dynamic_shifting": True, "base_shift": 0.5, "max_shift": 1.15}
_SD3_SCHEDULER = {"shift": 3.0}

# The same blocks, one layer each and a few dozen channels wide: seconds on a CPU.
_TINY_VAE = {
    **_VAE_16,
    "down_block_types": ["DownEncoderBlock2D"] * 2,
    "up_block_types": ["UpDecoderBlock2D"] * 2,
    "block_out_channels": [16, 32],
    "layers_per_block": 1,
    "norm_num_groups": 8,
    "sample_size": 64,
}
_TINY_CLIP = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4}
_TINY_T5 = {"d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 1, "num_heads": 4}


@dataclass(frozen=True)
class FlowArchitecture:
    name: str
    family: Literal["flux", "sd3"]
    resolution: int
    transformer: dict
    vae: dict
    clip: dict
    t5: dict
    clip_2: dict | None = None
    scheduler: dict = field(default_factory=dict)

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae["block_out_channels"]) - 1)

    @property
    def transformer_class(self) -> type[FluxTransformer2DModel | SD3Transformer2DModel]:
        return FluxTransformer2DModel if self.family == "flux" else SD3Transformer2DModel


FLUX = FlowArchitecture(
    "flux",
    "flux",
    1024,
    _FLUX_TRANSFORMER,
    {**_VAE_16, "scaling_factor": 0.3611, "shift_factor": 0.1159},
    _CLIP_L,
    _T5_XXL,
    scheduler=_FLUX_SCHEDULER,
)
SD35 = FlowArchitecture(
    "sd35",
    "sd3",
    1024,
    _SD35_LARGE_TRANSFORMER,
    {**_VAE_16, "scaling_factor": 1.5305, "shift_factor": 0.0609},
    _CLIP_L,
    _T5_XXL,
    clip_2=_CLIP_G,
    scheduler=_SD3_SCHEDULER,
)
# FLUX.1-schnell-shaped: no guidance input. 64 px images are 32² latents, 256 tokens.
TINY_FLUX = FlowArchitecture(
    "flux-tiny",
    "flux",
    64,
    {
        **_FLUX_TRANSFORMER,
        "num_layers": 1,
        "num_single_layers": 1,
        "attention_head_dim": 16,
        "num_attention_heads": 2,
        "joint_attention_dim": 32,
        "pooled_projection_dim": 32,
        "guidance_embeds": False,
        "axes_dims_rope": [4, 6, 6],
    },
    {**FLUX.vae, **_TINY_VAE, "scaling_factor": 0.3611, "shift_factor": 0.1159},
    {**_CLIP_L, **_TINY_CLIP, "projection_dim": 32},
    {**_T5_XXL, **_TINY_T5},
    scheduler=_FLUX_SCHEDULER,
)
TINY_SD3 = FlowArchitecture(
    "sd35-tiny",
    "sd3",
    64,
    {
        **_SD35_LARGE_TRANSFORMER,
        "sample_size": 32,
        "num_layers": 1,
        "attention_head_dim": 16,
        "num_attention_heads": 2,
        "joint_attention_dim": 32,
        "caption_projection_dim": 32,
        "pooled_projection_dim": 32,
        "pos_embed_max_size": 32,
    },
    {**SD35.vae, **_TINY_VAE},
    # The two CLIP encoders' hidden states are concatenated (16 + 16) and padded to T5's 32.
    {**_CLIP_L, **_TINY_CLIP, "hidden_size": 16, "intermediate_size": 32, "projection_dim": 16},
    {**_T5_XXL, **_TINY_T5},
    clip_2={**_CLIP_G, **_TINY_CLIP, "hidden_size": 16, "intermediate_size": 32, "projection_dim": 16},
    scheduler=_SD3_SCHEDULER,
)
FLOW_ARCHITECTURES = {arch.name: arch for arch in (TINY_FLUX, TINY_SD3, FLUX, SD35)}


def _clip(config: dict, *, projection: bool) -> torch.nn.Module:
    tokenizer = project_tokenizer(CLIP_TOKENS)
    ids = {
        "vocab_size": 49408,
        "max_position_embeddings": CLIP_TOKENS,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    model_class = CLIPTextModelWithProjection if projection else CLIPTextModel
    return model_class(CLIPTextConfig(**{**ids, **config}))


def build_pipeline(arch: FlowArchitecture, *, seed: int = 0) -> FluxPipeline | StableDiffusion3Pipeline:
    """The pipeline of `arch` with random weights (drawn from `seed`), fp32 on the CPU."""
    torch.manual_seed(seed)
    common = {
        "vae": AutoencoderKL(**arch.vae),
        "scheduler": FlowMatchEulerDiscreteScheduler(**arch.scheduler),
        "text_encoder": _clip(arch.clip, projection=arch.family == "sd3"),
        "tokenizer": project_tokenizer(CLIP_TOKENS),
    }
    t5 = T5EncoderModel(T5Config(**arch.t5))
    transformer = arch.transformer_class(**arch.transformer)
    if arch.family == "flux":
        pipe = FluxPipeline(
            transformer=transformer,
            text_encoder_2=t5,
            tokenizer_2=t5_tokenizer(),
            **common,
        )
    else:
        pipe = StableDiffusion3Pipeline(
            transformer=transformer,
            text_encoder_2=_clip(arch.clip_2, projection=True),
            tokenizer_2=project_tokenizer(CLIP_TOKENS),
            text_encoder_3=t5,
            tokenizer_3=t5_tokenizer(),
            **common,
        )
    for component in pipe.components.values():
        if isinstance(component, torch.nn.Module):
            component.eval().requires_grad_(False)
    return pipe


def text_tokens(transformer_class: type[torch.nn.Module]) -> int:
    """Text tokens the transformer attends to per prompt, as the pipelines read prompts by default: FLUX.1 reads
    512 T5 tokens, SD3 joins 77 CLIP tokens and 256 T5 tokens into one sequence."""
    if issubclass(transformer_class, FluxTransformer2DModel):
        return flux.T5_WINDOW
    return CLIP_TOKENS + sd3.T5_WINDOW


def transformer_inputs(
    transformer: torch.nn.Module, latent_size: int, batch: int = 1, *, device="cpu", dtype=torch.float32
) -> dict:
    """Keyword arguments of one transformer forward (`batch` counts a CFG copy), from the model's config: SD3
    takes the latent image, FLUX.1 takes it packed 2×2 into tokens with their positions, and a guidance value
    where the model reads one (FLUX.1-dev)."""
    config = transformer.config
    tokens = text_tokens(type(transformer))

    def noise(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, device=device, dtype=dtype)

    inputs = {
        "encoder_hidden_states": noise(batch, tokens, config.joint_attention_dim),
        "pooled_projections": noise(batch, config.pooled_projection_dim),
        "timestep": torch.ones(batch, device=device, dtype=dtype),
    }
    if not isinstance(transformer, FluxTransformer2DModel):
        return inputs | {"hidden_states": noise(batch, config.in_channels, latent_size, latent_size)}
    patches = (latent_size // 2) ** 2
    inputs |= {
        "hidden_states": noise(batch, patches, config.in_channels),
        "img_ids": torch.zeros(patches, 3, device=device, dtype=dtype),
        "txt_ids": torch.zeros(tokens, 3, device=device, dtype=dtype),
    }
    if config.guidance_embeds:
        inputs["guidance"] = torch.ones(batch, device=device, dtype=dtype)
    return inputs
