"""Every number that shapes the default model, in one place, saved next to the weights it produced."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

CONFIG_FILENAME = "training_config.json"


class TrainingConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    image_size: int = 64

    text_hidden_size: int = 128
    text_layers: int = 3
    text_heads: int = 4

    vae_channels: tuple[int, ...] = (16, 32, 32)
    # Small groups: one channel per group would be instance norm, which erases the flat colours we draw.
    vae_norm_groups: int = 4
    latent_channels: int = 4

    unet_channels: tuple[int, ...] = (32, 64, 64)
    unet_layers_per_block: int = 1
    unet_norm_groups: int = 8
    # diffusers' UNet2DConditionModel reads `attention_head_dim` as the number of heads.
    unet_attention_heads: int = 2

    train_timesteps: int = 1000
    beta_start: float = 0.0001
    beta_end: float = 0.02
    prediction_type: str = "v_prediction"

    vae_steps: int = 1200
    vae_batch_size: int = 16
    vae_learning_rate: float = 1e-3
    vae_kl_weight: float = 1e-6

    unet_steps: int = 6000
    unet_batch_size: int = 32
    unet_learning_rate: float = 1e-3
    text_learning_rate: float = 3e-4
    warmup_steps: int = 200
    caption_dropout: float = 0.1
    ema_decay: float = 0.999

    decoder_steps: int = 2000
    decoder_batch_size: int = 16
    decoder_learning_rate: float = 5e-4

    checkpoint_every: int = 250

    def save(self, folder: Path) -> None:
        (folder / CONFIG_FILENAME).write_text(json.dumps(self.model_dump(), indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> TrainingConfig:
        return cls.model_validate_json((folder / CONFIG_FILENAME).read_text())
