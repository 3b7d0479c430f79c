"""The chaos blend: how related a job's starting noises are."""

from __future__ import annotations

import torch

from engine.noise import initial_noise

SHAPE = (4, 64, 64)


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])


def test_chaos_zero_relates_images_faintly_and_chaos_hundred_frees_them():
    calm, _ = initial_noise([5, 6], [5, 5], [0, 0], SHAPE)
    wild, _ = initial_noise([5, 6], [5, 5], [100, 100], SHAPE)
    # a = 0.25 → correlation a² / (a² + (1-a)²) = 0.1
    assert abs(correlation(calm[0], calm[1]) - 0.1) < 0.03
    assert abs(correlation(wild[0], wild[1])) < 0.05


def test_blended_noise_keeps_unit_variance():
    noise, _ = initial_noise([1, 2, 3], [1, 1, 1], [0, 40, 100], SHAPE)
    for image in noise:
        assert abs(float(image.std()) - 1.0) < 0.03


def test_an_image_noise_does_not_depend_on_its_neighbours():
    batch, _ = initial_noise([10, 11, 12], [10, 10, 10], [25, 25, 25], SHAPE)
    alone, _ = initial_noise([11], [10], [25], SHAPE)
    assert torch.equal(batch[1], alone[0])
