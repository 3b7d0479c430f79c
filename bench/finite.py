"""The guard every run passes first: random weights must give finite outputs in the run's own dtype.

A NaN/inf would let some kernels short-circuit, so the timings would not be of real work; the run stops
instead, naming the network that broke.
"""

from __future__ import annotations

import torch

from bench.architectures import denoiser_inputs, prompt_ids, text_towers, vae_latents
from engine.families import family_for


class NonFiniteOutput(RuntimeError):
    """A random-weight component produced NaN/inf: the timings would not be of real work."""


def _component_name(pipe, module: torch.nn.Module) -> str:
    return next(name for name, component in pipe.components.items() if component is module)


def check_finite(pipe, resolution: int) -> None:
    """One forward of each network in the pipeline's own device and dtype (denoiser, VAE decoder, every text
    encoder); raise NonFiniteOutput if any output is not finite."""
    denoiser, vae = family_for(pipe).denoiser, pipe.vae
    latent_size = resolution // pipe.vae_scale_factor
    with torch.inference_mode():
        inputs = denoiser_inputs(denoiser, latent_size, device=denoiser.device, dtype=denoiser.dtype)
        latents = vae_latents(vae.config, latent_size, 1, device=vae.device, dtype=vae.dtype)
        outputs = {
            _component_name(pipe, denoiser): denoiser(**inputs).sample,
            "vae decoder": vae.decode(latents).sample,
        }
        for number, tower in enumerate(text_towers(pipe), start=1):
            ids = prompt_ids(tower.tokenizer, tower.tokens, device=tower.encoder.device)
            outputs[f"text encoder {number}"] = tower.encoder(ids).last_hidden_state
    broken = [name for name, tensor in outputs.items() if not torch.isfinite(tensor).all()]
    if broken:
        raise NonFiniteOutput(
            f"{', '.join(broken)} produced NaN/inf with random weights in {denoiser.dtype}: draw smaller weights "
            "(the init gain of bench.architectures.build_components for SD models, the weights drawn by "
            "bench.flow_architectures.build_pipeline for FLUX.1 and SD3)"
        )
