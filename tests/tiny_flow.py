"""Tiny FLUX.1 and SD3 models and LoRAs, written to disk the way an operator's models are, for the engine and
queue tests (the hub is out of reach, so every model is built from configs with random weights)."""

from __future__ import annotations

from pathlib import Path


def save_tiny_flow_models(folder: Path) -> dict[str, Path]:
    """Tiny random-weight FLUX.1-schnell-shaped and SD3-shaped pipelines, saved as diffusers folders."""
    from bench.flow_architectures import TINY_FLUX, TINY_SD3, build_pipeline

    paths = {}
    for name, arch in (("flux", TINY_FLUX), ("sd3", TINY_SD3)):
        paths[name] = folder / arch.name
        build_pipeline(arch).save_pretrained(paths[name])
    return paths


def save_tiny_lora(pipe, denoiser_name: str, path: Path, seed: int) -> Path:
    """A random LoRA on the attention projections of `pipe`'s denoiser, saved as the pipeline family's
    LoRA file (PEFT zero-initialises the up projections; random ones make the LoRA change pixels)."""
    import torch
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    denoiser = getattr(pipe, denoiser_name)
    config = LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v"], init_lora_weights=False)
    denoiser.add_adapter(config)
    type(pipe).save_lora_weights(
        str(path), **{f"{denoiser_name}_lora_layers": get_peft_model_state_dict(denoiser)}, safe_serialization=True
    )
    denoiser.delete_adapters("default")
    return path / "pytorch_lora_weights.safetensors"


def save_tiny_ip_adapter(unet, folder: Path, seed: int) -> Path:
    """A random IP-Adapter for `unet` in h94/IP-Adapter's layout: one weights file (the image projection, and a
    key and value projection for every cross-attention layer, numbered as diffusers reads them) and a tiny CLIP
    image encoder in `image_encoder/` beside it."""
    import torch
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    embed_dim, cross = 16, unet.config.cross_attention_dim
    vision = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
        projection_dim=embed_dim,
    )
    CLIPVisionModelWithProjection(vision).save_pretrained(folder / "image_encoder")
    tensors = {
        "image_proj.proj.weight": torch.randn(4 * cross, embed_dim),
        "image_proj.proj.bias": torch.zeros(4 * cross),
        "image_proj.norm.weight": torch.ones(cross),
        "image_proj.norm.bias": torch.zeros(cross),
    }
    cross_attention = [name for name in unet.attn_processors if name.endswith("attn2.processor")]
    for key_id, name in zip(range(1, 2 * len(cross_attention), 2), cross_attention, strict=True):
        hidden = unet.get_submodule(name.removesuffix(".processor")).to_k.out_features
        tensors[f"ip_adapter.{key_id}.to_k_ip.weight"] = torch.randn(hidden, cross) / cross**0.5
        tensors[f"ip_adapter.{key_id}.to_v_ip.weight"] = torch.randn(hidden, cross) / cross**0.5
    path = folder / "ip-adapter_tiny.safetensors"
    save_file(tensors, path)
    return path
