"""Imagine runs: seeds, batching, replay, chaos, tiling, progress and cancel on the tiny model."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from engine.request import GenerationRequest
from tests.engine.conftest import pixels

# Largest per-channel difference (0-255) seen between an image made alone and in a batch of 4 on
# CPU float32; docs/engine.md records the measurement.
BATCH_TOLERANCE = 2


def request(**fields) -> GenerationRequest:
    return GenerationRequest(**({"prompt": "a red circle on a blue background", "seed": 1234, "count": 4} | fields))


def test_same_seed_gives_identical_pixels(engine):
    first = engine.run(request())
    second = engine.run(request())
    assert [pixels(a).tolist() for a in first.images] == [pixels(b).tolist() for b in second.images]
    assert first.seeds == [1234, 1235, 1236, 1237]


def test_different_seeds_give_different_images(engine):
    images = engine.run(request(count=2)).images
    assert not np.array_equal(pixels(images[0]), pixels(images[1]))


def test_image_alone_matches_its_batch_within_tolerance(engine):
    batch = engine.run(request())
    alone = engine.run(request(seed=1236, chaos_seed=1234, count=1))
    difference = np.abs(pixels(alone.images[0]) - pixels(batch.images[2])).max()
    assert difference <= BATCH_TOLERANCE
    assert alone.run.batch_size == 1 and batch.slots == [0, 1, 2, 3]


def test_replay_at_original_batch_shape_is_bit_exact(engine):
    batch = engine.run(request())
    replay = engine.run(request(seed=1236, chaos_seed=1234, count=1, replay_batch=4, replay_slot=2))
    assert len(replay.images) == 1
    assert np.array_equal(pixels(replay.images[0]), pixels(batch.images[2]))
    assert replay.run.batch_size == 4 and replay.slots == [2]


def test_run_batch_mixes_prompts_and_each_job_gets_its_own_images(engine):
    first = request(prompt="a red circle", seed=10, count=2)
    second = request(prompt="a green square", seed=99, count=2, negative_prompt="blue")
    together = engine.run_batch([first, second])
    assert [result.seeds for result in together] == [[10, 11], [99, 100]]
    assert [result.slots for result in together] == [[0, 1], [2, 3]]
    assert together[1].run.batch_size == 4
    alone = engine.run(second)
    for mixed, single in zip(together[1].images, alone.images, strict=False):
        assert np.abs(pixels(mixed) - pixels(single)).max() <= BATCH_TOLERANCE
    replay = engine.run(
        request(
            prompt="a green square",
            seed=100,
            chaos_seed=99,
            count=1,
            negative_prompt="blue",
            replay_batch=4,
            replay_slot=3,
        )
    )
    assert np.array_equal(pixels(replay.images[0]), pixels(together[1].images[1]))


def test_run_batch_refuses_incompatible_requests(engine):
    with pytest.raises(ValueError, match="batch_key"):
        engine.run_batch([request(count=1), request(count=1, aspect=(2, 1))])


def test_chaos_changes_the_images(engine):
    calm = engine.run(request(count=2, chaos=0)).images
    wild = engine.run(request(count=2, chaos=100)).images
    assert not np.array_equal(pixels(calm[1]), pixels(wild[1]))


def test_tiled_generation_lives_on_a_torus(engine):
    """With circular padding, rolling the starting noise rolls the finished image by the same amount
    (vae_scale pixels per latent cell), so its left and right edges continue into each other."""
    import torch

    from engine.tiling import seamless

    model = engine.model()
    pipe = model.text_to_image
    noise = torch.randn((1, *model.latent_shape(64, 64)), generator=torch.Generator().manual_seed(5))
    # A shift of this many latent cells keeps every UNet downsampling aligned; each cell is vae_scale pixels.
    cells = model.size_multiple // model.vae_scale
    shift = cells * model.vae_scale
    rolled = torch.roll(noise, shifts=cells, dims=3)

    def draw(latents, tile):
        with seamless(pipe.unet, pipe.vae, enabled=tile):
            image = pipe("a red circle", latents=latents, num_inference_steps=2, output_type="pil").images[0]
        return pixels(image)

    tiled = draw(noise, True)
    assert np.abs(np.roll(tiled, shift, axis=1) - draw(rolled, True)).max() <= 2
    plain = draw(noise, False)
    assert np.abs(np.roll(plain, shift, axis=1) - draw(rolled, False)).max() > 20


def test_tile_request_wraps_and_is_undone_afterwards(engine):
    plain_before = pixels(engine.run(request(count=1, seed=77)).images[0])
    tiled = pixels(engine.run(request(count=1, seed=77, tile=True)).images[0])
    assert not np.array_equal(tiled, plain_before)
    assert np.array_equal(pixels(engine.run(request(count=1, seed=77)).images[0]), plain_before)


def test_progress_is_reported_once_per_step_with_rising_fractions(engine):
    reports = []
    engine.run(request(count=2, steps=3), on_progress=reports.append, preview=True)
    assert [(p.step, p.total) for p in reports] == [(1, 3), (2, 3), (3, 3)]
    assert [p.fraction for p in reports] == sorted(p.fraction for p in reports) and reports[-1].fraction == 1.0
    assert all(p.preview() is not None and p.preview().width > 0 for p in reports)

    without_preview = []
    engine.run(request(count=1, steps=2), on_progress=without_preview.append)
    assert [p.preview() for p in without_preview] == [None, None]


def test_setting_cancel_mid_run_raises_generation_cancelled(engine):
    from engine.engine import GenerationCancelled

    cancel = threading.Event()
    reports = []

    def cancel_after_first_step(progress):
        reports.append(progress)
        cancel.set()

    with pytest.raises(GenerationCancelled):
        engine.run(request(steps=3), on_progress=cancel_after_first_step, cancel=cancel)
    assert len(reports) == 1


def test_an_already_cancelled_run_never_starts(engine):
    from engine.engine import GenerationCancelled

    cancel = threading.Event()
    cancel.set()
    reports = []
    with pytest.raises(GenerationCancelled):
        engine.run(request(), on_progress=reports.append, cancel=cancel)
    assert reports == []
