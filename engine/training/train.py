"""Train the default model from nothing: `python -m engine.training.train --out DIR --seed 0`.

Three stages: the autoencoder first (on the same procedural images); then the UNet (and the text
encoder, if its learning rate is not 0), with the autoencoder frozen; last, the decoder alone is
refined for sharper edges. The encoder, and so the latent space the UNet learned, never changes after
the first stage, which is why the decoder can be refined last (or, given the first stage's
checkpoint, alongside the second). Every batch, noise draw, timestep and caption dropout comes from a
generator seeded by (seed, step), and learning rates are constant after warm-up, so a run is
reproducible, `--resume` continues exactly where a checkpoint left off, and a checkpoint at step k is
the model a run with `--unet-steps k` would produce. Each checkpoint also exports DIR/model, a
loadable diffusers folder, so a run cut short still leaves a usable model.
"""

from __future__ import annotations

import argparse
import logging
import random
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers.optimization import get_constant_schedule_with_warmup
from diffusers.training_utils import EMAModel, compute_density_for_timestep_sampling
from pydantic import ValidationError
from tqdm import tqdm

from engine.training.config import TrainingConfig
from engine.training.data import training_batch
from engine.training.models import (
    assemble_pipeline,
    make_scheduler,
    make_text_encoder,
    make_tokenizer,
    make_unet,
    make_vae,
)

CHECKPOINT = "checkpoint.pt"
MODEL_FOLDER = "model"
VAE_SEED_OFFSET = 7_919  # the autoencoder sees different scenes than the diffusion stage
DECODER_SEED_OFFSET = 15_485

log = logging.getLogger(__name__)


class Trainer:
    def __init__(self, config: TrainingConfig, out: Path, device: torch.device):
        self.config, self.out, self.device = config, out, device
        torch.manual_seed(config.seed)
        self.tokenizer = make_tokenizer(out / "tokenizer")
        self.text_encoder = make_text_encoder(config, self.tokenizer).to(device)
        self.vae = make_vae(config).to(device)
        latent_size = config.image_size // 2 ** (len(config.vae_channels) - 1)
        self.unet = make_unet(config, latent_size).to(device)
        self.scheduler = make_scheduler(config)
        self.vae_optimizer = torch.optim.AdamW(self.vae.parameters(), lr=config.vae_learning_rate)
        self.decoder_optimizer = torch.optim.AdamW(self._decoder_parameters(), lr=config.decoder_learning_rate)
        self.optimizer = torch.optim.AdamW(
            [
                {"params": self.unet.parameters(), "lr": config.unet_learning_rate},
                {"params": self.text_encoder.parameters(), "lr": config.text_learning_rate},
            ],
            weight_decay=0.01,
        )
        self.lr_schedule = get_constant_schedule_with_warmup(self.optimizer, config.warmup_steps)
        self.ema = EMAModel(self._diffusion_parameters(), decay=config.ema_decay)
        self.vae_step = 0
        self.unet_step = 0
        self.decoder_step = 0

    def _diffusion_parameters(self) -> list[torch.nn.Parameter]:
        return list(self.unet.parameters()) + list(self.text_encoder.parameters())

    def _decoder_parameters(self) -> list[torch.nn.Parameter]:
        return list(self.vae.post_quant_conv.parameters()) + list(self.vae.decoder.parameters())

    def _generator(self, stage_offset: int, step: int) -> torch.Generator:
        return torch.Generator().manual_seed((self.config.seed * 1_000_003 + stage_offset) * 1_000_000 + step)

    def _batch(self, seed_offset: int, step: int, batch_size: int) -> tuple[torch.Tensor, list[str]]:
        pixels, captions = training_batch(self.config.seed + seed_offset, step, batch_size)
        return torch.from_numpy(pixels).to(self.device), captions

    def reconstruction_loss(self, reconstruction: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        loss = F.l1_loss(reconstruction, pixels)
        if self.config.vae_edge_weight:
            for axis in (-1, -2):
                edges = F.l1_loss(reconstruction.diff(dim=axis), pixels.diff(dim=axis))
                loss = loss + self.config.vae_edge_weight * edges
        return loss

    def train_vae_step(self) -> float:
        pixels, _ = self._batch(VAE_SEED_OFFSET, self.vae_step, self.config.vae_batch_size)
        posterior = self.vae.encode(pixels).latent_dist
        latents = posterior.sample(generator=self._generator(1, self.vae_step))
        reconstruction = self.vae.decode(latents).sample
        loss = self.reconstruction_loss(reconstruction, pixels) + self.config.vae_kl_weight * posterior.kl().mean()
        self.vae_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.vae_optimizer.step()
        self.vae_step += 1
        return loss.item()

    def train_decoder_step(self) -> float:
        pixels, _ = self._batch(DECODER_SEED_OFFSET, self.decoder_step, self.config.decoder_batch_size)
        with torch.no_grad():
            latents = self.vae.encode(pixels).latent_dist.sample(generator=self._generator(3, self.decoder_step))
        loss = self.reconstruction_loss(self.vae.decode(latents).sample, pixels)
        self.decoder_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.decoder_optimizer.step()
        self.decoder_step += 1
        return loss.item()

    @torch.no_grad()
    def calibrate_latent_scale(self) -> None:
        """Stable Diffusion's convention: scale latents to unit variance before diffusion."""
        pixels, _ = self._batch(VAE_SEED_OFFSET, 10**6, 256)
        std = self.vae.encode(pixels).latent_dist.mode().std().item()
        self.vae.register_to_config(scaling_factor=1.0 / std)

    def _encode_captions(self, captions: list[str], step: int) -> torch.Tensor:
        rng = random.Random(self.config.seed * 1_000_003 + step)
        kept = ["" if rng.random() < self.config.caption_dropout else caption for caption in captions]
        ids = self.tokenizer(
            kept, padding="max_length", max_length=self.tokenizer.model_max_length, truncation=True, return_tensors="pt"
        ).input_ids
        return self.text_encoder(ids.to(self.device))[0]

    def train_unet_step(self) -> float:
        step = self.unet_step
        pixels, captions = self._batch(0, step, self.config.unet_batch_size)
        generator = self._generator(2, step)
        with torch.no_grad():
            posterior = self.vae.encode(pixels).latent_dist
            latents = posterior.sample(generator=generator) * self.vae.config.scaling_factor
        noise = torch.randn(latents.shape, generator=generator).to(self.device)
        timesteps = self.sample_timesteps(latents.shape[0], generator).to(self.device)
        noisy = self.scheduler.add_noise(latents, noise, timesteps)
        target = self.scheduler.get_velocity(latents, noise, timesteps)
        prediction = self.unet(noisy, timesteps, self._encode_captions(captions, step)).sample
        loss = F.mse_loss(prediction, target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self._diffusion_parameters(), 1.0)
        self.optimizer.step()
        self.lr_schedule.step()
        self.ema.step(self._diffusion_parameters())
        self.unet_step += 1
        return loss.item()

    def sample_timesteps(self, count: int, generator: torch.Generator) -> torch.Tensor:
        config = self.config
        if config.timestep_sampling == "uniform" or self.unet_step < config.timestep_sampling_from_step:
            return torch.randint(0, config.train_timesteps, (count,), generator=generator)
        fractions = compute_density_for_timestep_sampling(
            config.timestep_sampling, count, config.logit_mean, config.logit_std, generator=generator
        )
        return (fractions * config.train_timesteps).long().clamp(0, config.train_timesteps - 1)

    def state(self) -> dict:
        return {
            "config": self.config.model_dump(),
            "vae_step": self.vae_step,
            "unet_step": self.unet_step,
            "decoder_step": self.decoder_step,
            "vae": self.vae.state_dict(),
            "vae_scaling_factor": self.vae.config.scaling_factor,
            "vae_optimizer": self.vae_optimizer.state_dict(),
            "unet": self.unet.state_dict(),
            "text_encoder": self.text_encoder.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "lr_schedule": self.lr_schedule.state_dict(),
            "ema": self.ema.state_dict(),
            "decoder_optimizer": self.decoder_optimizer.state_dict(),
        }

    def load_state(self, state: dict) -> None:
        self.vae_step, self.unet_step, self.decoder_step = state["vae_step"], state["unet_step"], state["decoder_step"]
        self.vae.load_state_dict(state["vae"])
        self.vae.register_to_config(scaling_factor=state["vae_scaling_factor"])
        self.vae_optimizer.load_state_dict(state["vae_optimizer"])
        self.unet.load_state_dict(state["unet"])
        self.text_encoder.load_state_dict(state["text_encoder"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.lr_schedule.load_state_dict(state["lr_schedule"])
        self.ema.load_state_dict(state["ema"])
        self.decoder_optimizer.load_state_dict(state["decoder_optimizer"])

    def checkpoint(self) -> None:
        partial = self.out / (CHECKPOINT + ".partial")
        torch.save(self.state(), partial)
        partial.replace(self.out / CHECKPOINT)
        self.export(self.out / MODEL_FOLDER)

    def export(self, folder: Path) -> None:
        """Save the EMA weights as a standard StableDiffusionPipeline folder."""
        parameters = self._diffusion_parameters()
        self.ema.store(parameters)
        self.ema.copy_to(parameters)
        pipeline = assemble_pipeline(self.tokenizer, self.text_encoder, self.vae, self.unet, self.scheduler)
        pipeline.save_pretrained(folder)
        self.ema.restore(parameters)
        self.config.save(folder)

    def run(self) -> None:
        self.vae.train()
        self._stage("autoencoder", self.config.vae_steps, lambda: self.vae_step, self.train_vae_step)
        self.vae.eval().requires_grad_(False)
        if self.unet_step == 0:
            self.calibrate_latent_scale()
        self.unet.train()
        self.text_encoder.train()
        self._stage("diffusion", self.config.unet_steps, lambda: self.unet_step, self.train_unet_step)
        self.unet.eval()
        self.text_encoder.eval()
        self.vae.decoder.train()
        for parameter in self._decoder_parameters():
            parameter.requires_grad_(True)
        self._stage("decoder", self.config.decoder_steps, lambda: self.decoder_step, self.train_decoder_step)

    def _stage(self, name: str, total: int, done: Callable[[], int], train_step: Callable[[], float]) -> None:
        """Train until `done()` reaches `total`, checkpointing every `checkpoint_every` steps and at the end,
        so a resumed run picks up within one interval of where it stopped."""
        with tqdm(total=total, initial=done(), desc=name, mininterval=30) as bar:
            while done() < total:
                bar.set_postfix(loss=f"{train_step():.4f}", refresh=False)
                bar.update()
                if done() % self.config.checkpoint_every == 0 or done() == total:
                    self.checkpoint()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="run folder: checkpoint.pt and model/")
    parser.add_argument("--seed", type=int, help="default: the checkpoint's seed with --resume, else 0")
    parser.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt")
    parser.add_argument(
        "--config",
        type=Path,
        help="a training_config.json to start from (any subset of its settings); "
        "default: the settings that made the committed weights",
    )
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu, cuda, mps")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    parser.add_argument("--vae-steps", type=int, help="override the config's autoencoder steps")
    parser.add_argument("--unet-steps", type=int, help="override the config's diffusion steps")
    parser.add_argument("--decoder-steps", type=int, help="override the config's decoder refinement steps")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    overrides = {}
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.vae_steps is not None:
        overrides["vae_steps"] = args.vae_steps
    if args.unet_steps is not None:
        overrides["unet_steps"] = args.unet_steps
    if args.decoder_steps is not None:
        overrides["decoder_steps"] = args.decoder_steps
    checkpoint_path = args.out / CHECKPOINT
    if args.resume and not checkpoint_path.exists():
        raise SystemExit(f"--resume: no checkpoint at {checkpoint_path}; start without --resume")
    if args.resume and args.config:
        raise SystemExit("--resume continues with the checkpoint's own settings; leave out --config")
    state = torch.load(checkpoint_path, map_location=args.device, weights_only=False) if args.resume else None
    try:
        if state:
            base = state["config"]
        elif args.config:
            base = TrainingConfig.from_file(args.config).model_dump()
        else:
            base = {}
        config = TrainingConfig.model_validate(base | overrides)
    except (OSError, ValidationError) as error:
        raise SystemExit(f"invalid training settings: {error}") from error
    trainer = Trainer(config, args.out, torch.device(args.device))
    if state:
        trainer.load_state(state)
        log.info("resumed at autoencoder step %d, diffusion step %d", trainer.vae_step, trainer.unet_step)
    trainer.run()
    log.info("done: %s", args.out / MODEL_FOLDER)


if __name__ == "__main__":
    main()
