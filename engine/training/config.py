"""Every number that shapes the default model, in one place, saved next to the weights it produced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, PositiveFloat, model_validator

CONFIG_FILENAME = "training_config.json"


class TrainingConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    image_size: int = 64

    text_hidden_size: int = 128
    text_layers: int = 3
    text_heads: int = 4

    # Two levels: 2× downsampling, 32×32×4 latents, which keep 97 % of shapes through a round trip.
    # Three levels (4×, 16×16×4, the previous default) lose a star's points: 70 %.
    vae_channels: tuple[int, ...] = (16, 32)
    # Small groups: one channel per group would be instance norm, which erases the flat colours we draw.
    vae_norm_groups: int = 4
    latent_channels: int = 4
    # Self-attention in the autoencoder's middle block: over 32×32 latents it costs more than all
    # its convolutions together, and flat shapes need no global context to be reconstructed.
    vae_mid_attention: bool = False
    # The encoder's initial log-variance output (None: diffusers' initialisation, about 0). At 0 the
    # sampled latents start as unit noise that drowns the signal for the first few hundred steps.
    vae_initial_logvar: float | None = -8.0

    unet_channels: tuple[int, ...] = (16, 32, 64, 64)
    # Cross-attention per level, finest first. Over 32×32 latents a finest level should go without:
    # attention over 1024 positions would cost more than the rest of the UNet.
    unet_attention: tuple[bool, ...] = (False, True, True, False)
    unet_layers_per_block: int = 1
    unet_norm_groups: int = 8
    # diffusers' UNet2DConditionModel reads `attention_head_dim` as the number of heads.
    unet_attention_heads: int = 2

    train_timesteps: int = 1000
    beta_start: float = 0.0001
    beta_end: float = 0.02
    prediction_type: str = "v_prediction"

    vae_steps: int = 4000
    vae_batch_size: int = 16
    vae_learning_rate: float = 1e-3
    vae_kl_weight: float = 1e-6
    # Weight of an L1 loss on horizontal and vertical pixel differences: plain L1 is content with soft edges.
    vae_edge_weight: float = 1.0

    unet_steps: int = 16_250
    unet_batch_size: int = 32
    unet_learning_rate: float = 1e-3
    # 0 keeps the text encoder as initialised: trained jointly with this UNet, it let the position
    # words fade before the UNet learned positions (see the model card).
    text_learning_rate: float = 0.0
    warmup_steps: int = 200
    # Diffusion timesteps are drawn uniformly until timestep_sampling_from_step, then, with "logit_normal"
    # (SD3's scheme), as sigmoid(N(logit_mean, logit_std)) × train_timesteps: mostly the middle noise levels,
    # where a shape word must turn a blob into a square, triangle or star. The uniform steps come first
    # because positions are decided at the highest noise levels, which the logit-normal draw rarely visits
    # (the default model switched once it placed objects; logit-normal from step 0 is untried).
    timestep_sampling: Literal["uniform", "logit_normal"] = "logit_normal"
    timestep_sampling_from_step: int = 10_250
    logit_mean: float = 0.0
    logit_std: PositiveFloat = 1.0
    caption_dropout: float = 0.1
    ema_decay: float = 0.999

    decoder_steps: int = 500
    decoder_batch_size: int = 16
    decoder_learning_rate: float = 5e-4

    checkpoint_every: int = 250

    @model_validator(mode="after")
    def _one_attention_flag_per_level(self) -> TrainingConfig:
        if len(self.unet_attention) != len(self.unet_channels):
            raise ValueError(
                f"unet_attention has {len(self.unet_attention)} entries but unet_channels has "
                f"{len(self.unet_channels)} levels; give one flag per level"
            )
        return self

    def save(self, folder: Path) -> None:
        (folder / CONFIG_FILENAME).write_text(json.dumps(self.model_dump(), indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> TrainingConfig:
        return cls.from_file(folder / CONFIG_FILENAME)

    @classmethod
    def from_file(cls, path: Path) -> TrainingConfig:
        return cls.model_validate_json(path.read_text())
