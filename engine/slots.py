"""The images of one batched run: which request each belongs to, its seed, and whether it is kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.request import GenerationRequest
from engine.results import RequestError


@dataclass(frozen=True)
class Slot:
    """One image in the denoiser batch: which request it belongs to, its seed, and whether it is kept
    (replays fill the other slots with copies of the target)."""

    request_index: int
    seed: int
    kept: bool = True


def batch_slots(requests: Sequence[GenerationRequest]) -> list[Slot]:
    """The batch a run makes: each request's images in order, or for a replay the original batch's shape with only
    the replayed slot kept."""
    first = requests[0]
    if first.replay_batch is not None:
        if len(requests) != 1 or first.count != 1:
            raise RequestError("a replay regenerates exactly one image: use count 1 and run it alone")
        return [Slot(0, first.seed, kept=position == first.replay_slot) for position in range(first.replay_batch)]
    return [Slot(index, seed) for index, request in enumerate(requests) for seed in request.seeds]
