"""What a job weighs against the caps, and whether the disk (and the storage quotas) can take another one.

Caps count cost, not jobs: a standard job — four images at the reference step count and within the
pixel budget — costs 1.0; sixteen images at 150 steps cost twenty times that. The bot's process
cannot resolve a request (that needs the model), so the cost is read from the fields as asked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.request import GenerationRequest, Operation

STANDARD_IMAGES = 4
REFERENCE_STEPS = 30
# An upscale draws up to four times the pixels of the image it starts from.
UPSCALE_PIXELS = 4.0
# A /describe is one short captioning pass, far less than one denoising step of four images; it still counts, so
# a member cannot fill the queue with them.
DESCRIBE_COST = 0.1
MEGABYTE = 1_048_576


def job_cost(request: GenerationRequest) -> float:
    """Images × steps × pixels, in standard jobs (steps left to the model's default count as standard)."""
    if request.operation is Operation.DESCRIBE:
        return DESCRIBE_COST
    images = request.replay_batch or request.count
    steps = request.steps / REFERENCE_STEPS if request.steps else 1.0
    pixels = UPSCALE_PIXELS if request.operation is Operation.UPSCALE else 1.0
    return round(images / STANDARD_IMAGES * steps * pixels, 3)


def folder_bytes(folder: Path) -> int:
    """What the files directly in `folder` take (a job's images, grid and record); 0 when it is gone."""
    if not folder.is_dir():
        return 0
    return sum(entry.stat().st_size for entry in folder.iterdir() if entry.is_file())


def quota_refusal(kept_bytes: int, quota_mb: float, whose: str) -> str | None:
    """Why a new job is refused when `whose` images already take `quota_mb` or more (None: there is room).
    The job's own images are not known before it runs, so a member may pass the quota by one job."""
    if not quota_mb or kept_bytes < quota_mb * MEGABYTE:
        return None
    return (
        f"{whose} images take {kept_bytes / MEGABYTE:.2f} MB, and the bot keeps at most {quota_mb:g} MB of them. "
        "Delete some grids you no longer need with 🗑️, then try again."
    )


def free_megabytes(folder: Path) -> float:
    """Free space on the disk holding `folder` (or the nearest existing folder above it)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free / MEGABYTE
