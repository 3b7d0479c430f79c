"""Which waiting jobs share one UNet batch, decided from the stored requests alone.

The bot's process never loads a model, so it cannot resolve a request; it batches jobs whose
unresolved fields that decide the batch shape are equal. The engine resolves both the same way,
so their resolved `compatible_key()`s are equal too and `Engine.run_batch` accepts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from engine.request import Operation

# The request fields that decide size, schedule and pipeline; prompts and seeds may differ within a batch.
SHAPE_FIELDS = ("model", "aspect", "width", "height", "steps", "sampler", "guidance", "tile")


class Candidate(Protocol):
    parameters: dict[str, Any]


C = TypeVar("C", bound=Candidate)


def batch_key(parameters: dict[str, Any]) -> tuple | None:
    """Jobs with equal keys can share one UNet batch; None means this job always runs alone."""
    if parameters.get("operation") != Operation.IMAGINE or parameters.get("replay_batch") is not None:
        return None
    return tuple(_hashable(parameters.get(name)) for name in SHAPE_FIELDS)


def pick_group(ordered: Sequence[C], max_images: int) -> list[C]:
    """The first job in serving order, plus the next compatible ones while the images fit in one batch."""
    if not ordered:
        return []
    head, *rest = ordered
    key = batch_key(head.parameters)
    group, images = [head], _count(head)
    for candidate in rest if key is not None else ():
        if images >= max_images:
            break
        if batch_key(candidate.parameters) == key and images + _count(candidate) <= max_images:
            group.append(candidate)
            images += _count(candidate)
    return group


def _count(candidate: Candidate) -> int:
    count = candidate.parameters.get("count")
    return count if isinstance(count, int) else 1


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
