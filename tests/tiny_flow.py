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
