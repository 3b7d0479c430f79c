"""A deterministic, randomly initialised tiny Stable Diffusion pipeline.

It stands in for the trained default model (engine/default_model/weights) until that exists, so the
whole project runs offline on a CPU. The images are abstract colour fields, but every property the
project relies on (seeds, batching, tiling, previews, image operations) behaves as with a real model.
Native size 64 px: an 8×8 latent with a VAE that downsamples 8×, like Stable Diffusion.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel

from engine.default_model.tokenizer import build_tokenizer

INIT_SEED = 20240601
NATIVE_SIZE = 64
VAE_SCALE = 8
TEXT_WIDTH = 32


def build_random_pipeline(tokenizer_folder: Path) -> StableDiffusionPipeline:
    tokenizer = build_tokenizer(tokenizer_folder)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(INIT_SEED)
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=len(tokenizer),
                hidden_size=TEXT_WIDTH,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                max_position_embeddings=tokenizer.model_max_length,
                bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
        )
        unet = UNet2DConditionModel(
            sample_size=NATIVE_SIZE // VAE_SCALE,
            in_channels=4,
            out_channels=4,
            block_out_channels=(32, 64),
            layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=TEXT_WIDTH,
            attention_head_dim=8,
            norm_num_groups=16,
        )
        vae = AutoencoderKL(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(16, 16, 32, 32),
            latent_channels=4,
            norm_num_groups=8,
            sample_size=NATIVE_SIZE,
        )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def ensure_random_model(folder: Path) -> Path:
    """Build the model into `folder` once; later calls (and other processes) reuse it.

    It is written to a temporary sibling and renamed into place, so a crash or a concurrent
    builder never leaves a half-written folder behind.
    """
    folder = Path(folder)
    if (folder / "model_index.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        build_random_pipeline(staging / "tokenizer").save_pretrained(staging)
        try:
            staging.rename(folder)
        except OSError:
            if not (folder / "model_index.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
