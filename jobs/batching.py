"""Which waiting jobs share one UNet batch: the queue's rule, also used by the benchmark's direct runs.

Two requests may share a batch when `GenerationRequest.batch_key()` is equal — the same rule the
engine checks on the resolved requests, so a group the queue forms is always one `run_batch` call.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.request import GenerationRequest


def pick_group(requests: Sequence[GenerationRequest], max_images: int) -> list[int]:
    """Positions of the first request and of the next ones that can share its batch, while the images fit."""
    if not requests:
        return []
    head = requests[0]
    key = head.batch_key()
    group, images = [0], head.count
    if key is None:
        return group
    for position, candidate in enumerate(requests[1:], start=1):
        if images >= max_images:
            break
        if candidate.batch_key() == key and images + candidate.count <= max_images:
            group.append(position)
            images += candidate.count
    return group
