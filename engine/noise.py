"""Initial noise: one CPU generator per image, so an image's noise never depends on its batch.

Image i of a job is seeded `seed + i`. `--chaos` blends a noise shared by the whole job into
every image's own noise:

    a = 0.25 * (1 - chaos / 100)
    noise_i = (a * shared + (1 - a) * own_i) / sqrt(a**2 + (1 - a)**2)

so at chaos 0 (the default) the grid's noises are 10 % correlated — four distinct options, as on
Midjourney, with a faint family likeness — and chaos 100 makes them independent; the division
keeps unit variance, which the sampler expects. The shared noise is seeded with a fixed scramble of
`chaos_seed` (image seeds wrap within the project's 32-bit seed range, so a plain offset would land
on other images' seeds), which lands on one of the job's own seeds for only a handful of the 2**32 seeds.
Generators are on the CPU on every device, so a seed gives the same noise on CUDA, mps and CPU.
"""

from __future__ import annotations

import math

import torch

SEED_SPACE = 2**32
SCRAMBLE_MULTIPLIER = 0x9E3779B1
SCRAMBLE_INCREMENT = 0x7F4A7C15


def image_generator(seed: int) -> torch.Generator:
    return torch.Generator("cpu").manual_seed(seed)


def shared_seed(chaos_seed: int) -> int:
    return (chaos_seed * SCRAMBLE_MULTIPLIER + SCRAMBLE_INCREMENT) % SEED_SPACE


def shared_weight(chaos: int) -> float:
    return 0.25 * (1 - chaos / 100)


def initial_noise(
    seeds: list[int], chaos_seeds: list[int], chaos: list[int], shape: tuple[int, ...]
) -> tuple[torch.Tensor, list[torch.Generator]]:
    """Noise of `shape` (one image's latent shape) for each slot, stacked, plus each slot's generator.

    The generators are returned already advanced past the initial noise, for samplers that draw
    fresh noise every step (ancestral ones): those draws stay per image too.
    """
    generators = [image_generator(seed) for seed in seeds]
    noises = []
    for generator, chaos_seed, slot_chaos in zip(generators, chaos_seeds, chaos, strict=True):
        own = torch.randn(shape, generator=generator)
        weight = shared_weight(slot_chaos)
        if weight > 0:
            shared = torch.randn(shape, generator=image_generator(shared_seed(chaos_seed)))
            own = (weight * shared + (1 - weight) * own) / math.hypot(weight, 1 - weight)
        noises.append(own)
    return torch.stack(noises), generators
