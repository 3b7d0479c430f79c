"""Requests derived from stored ones: what each button asks the engine for."""

from __future__ import annotations

from pathlib import Path

from bot import derive
from engine.request import Direction, GenerationRequest, Operation
from jobs.results import ImageRecord

STORED = GenerationRequest(
    prompt="a lighthouse",
    seed=100,
    width=64,
    height=64,
    steps=2,
    guidance=7.0,
    sampler="euler",
    chaos=20,
    chaos_seed=100,
    warnings=("long prompt",),
    replay_batch=8,
    replay_slot=3,
)
IMAGE = ImageRecord(
    index=3,
    seed=102,
    path=Path("/data/images/abcdefghij/3.png"),
    sha256="0" * 64,
    width=64,
    height=64,
    batch_size=8,
    batch_slot=6,
)


def test_reproducing_one_image_replays_its_batch_slot() -> None:
    again = derive.reproduce(STORED, IMAGE)
    assert (again.seed, again.count, again.replay_batch, again.replay_slot) == (102, 1, 8, 6)
    assert again.chaos_seed == 100  # the shared chaos noise of the original job
    assert again.warnings == ()


def test_reproducing_a_job_keeps_every_resolved_parameter() -> None:
    again = derive.reproduce(STORED)
    assert again.model_dump(exclude={"warnings", "replay_batch", "replay_slot"}) == STORED.model_dump(
        exclude={"warnings", "replay_batch", "replay_slot"}
    )


def test_reroll_changes_only_the_seeds() -> None:
    rerolled = derive.reroll(STORED)
    assert rerolled.seed != STORED.seed and rerolled.chaos_seed is None
    assert (rerolled.prompt, rerolled.steps, rerolled.width) == ("a lighthouse", 2, 64)


def test_image_operations_start_from_the_stored_file() -> None:
    variation = derive.variation(STORED, IMAGE, "subtle")
    upscale = derive.upscale(STORED, IMAGE, "creative")
    pan = derive.pan(STORED, IMAGE, Direction.UP)
    zoom = derive.zoom_out(STORED, IMAGE)
    assert variation.operation is Operation.VARIATION and variation.mode == "subtle" and variation.count == 4
    assert upscale.operation is Operation.UPSCALE and upscale.mode == "creative" and upscale.count == 1
    assert pan.direction is Direction.UP and zoom.operation is Operation.ZOOM
    for request in (variation, upscale, pan, zoom):
        assert request.source_image == str(IMAGE.path)
        assert (request.width, request.height, request.replay_batch) == (None, None, None)
