"""UPSCALER_MODEL: upscale through a dedicated upscaler pipeline (a tiny random SD x4 upscaler here)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engine.request import GenerationRequest
from tests.engine.conftest import pixels


def build_tiny_upscaler(folder):
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        DDPMScheduler,
        StableDiffusionUpscalePipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    from engine.default_model.tokenizer import build_tokenizer

    tokenizer = build_tokenizer(folder / "tokenizer-source")
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=7,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=16,
        num_class_embeds=400,
    )
    vae = AutoencoderKL(
        block_out_channels=(16, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        latent_channels=4,
        norm_num_groups=8,
        scaling_factor=0.08333,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=4,
            max_position_embeddings=tokenizer.model_max_length,
            eos_token_id=tokenizer.eos_token_id,
            bos_token_id=tokenizer.bos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    pipe = StableDiffusionUpscalePipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        low_res_scheduler=DDPMScheduler(),
        scheduler=DDIMScheduler(),
        max_noise_level=350,
    )
    pipe.save_pretrained(folder / "upscaler")
    return folder / "upscaler"


@pytest.fixture(scope="module")
def upscaling_engine(engine, tmp_path_factory):
    from engine.engine import Engine

    folder = build_tiny_upscaler(tmp_path_factory.mktemp("upscaler"))
    return Engine(engine.settings.model_copy(update={"upscaler_model": str(folder)}))


def test_upscale_goes_through_the_dedicated_upscaler(upscaling_engine, tmp_path):
    source = tmp_path / "source.png"
    Image.effect_noise((32, 32), 40).convert("RGB").save(source)
    request = GenerationRequest(
        operation="upscale", prompt="a red circle", source_image=str(source), count=1, seed=4, steps=2
    )
    reports = []
    result = upscaling_engine.run(request, on_progress=reports.append)
    assert result.images[0].size == (64, 64)
    assert result.run.upscaler == upscaling_engine.settings.upscaler_model
    assert [(report.step, report.total) for report in reports] == [(1, 2), (2, 2)]
    again = upscaling_engine.run(request)
    assert np.array_equal(pixels(again.images[0]), pixels(result.images[0]))
