"""Running one group of jobs on an engine, inside the engine process: batching, splitting on failure, saving.

A group is one job, or several compatible imagine jobs that share a UNet batch; the engine reports
each image's batch size and slot, which the history keeps so any image can be replayed exactly. When a batch fails
(out of GPU memory, or any error that cannot be pinned on one job) it is split in halves and each half
runs again, so one bad job fails alone and the others still get their images.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.request import GenerationRequest
from engine.results import GenerationCancelled
from jobs.queue import FinishedImage

log = logging.getLogger(__name__)

# Recognised by class name so that the bot's process never has to import torch.
OUT_OF_MEMORY_ERRORS = frozenset({"OutOfMemoryError"})


@dataclass(frozen=True)
class ClaimedJob:
    public_id: str
    request: GenerationRequest


def is_out_of_memory(error: BaseException) -> bool:
    return any(cls.__name__ in OUT_OF_MEMORY_ERRORS for cls in type(error).__mro__)


def user_message(error: BaseException) -> str:
    """What the person who asked sees; the traceback goes to the log."""
    if is_out_of_memory(error):
        return (
            "The GPU ran out of memory for this job. Try fewer images (--count) or a smaller size "
            "(--ar with a smaller side), then run it again."
        )
    if type(error).__name__ == "ModelNotFoundError":
        return str(error)
    detail = str(error).strip() or type(error).__name__
    return f"Generating this image failed: {detail}"


def generate(
    engine: Any, group: Sequence[ClaimedJob], *, cancel: Any, preview: bool, on_progress: Callable[[str, Any], None]
) -> dict[str, Any]:
    """Each job's GenerationResult, or the exception that failed it. Cancellation ends the whole group."""
    callbacks = [functools.partial(on_progress, job.public_id) for job in group]
    try:
        if len(group) == 1:
            results = [engine.run(group[0].request, on_progress=callbacks[0], cancel=cancel, preview=preview)]
        else:
            results = engine.run_batch(
                [job.request for job in group], on_progress=callbacks, cancel=cancel, preview=preview
            )
    except GenerationCancelled:
        raise
    except Exception as error:
        if len(group) == 1:
            log.exception("job %s failed", group[0].public_id)
            return {group[0].public_id: error}
        log.warning("batch of %d jobs failed (%s: %s); running it in halves", len(group), type(error).__name__, error)
        half = len(group) // 2
        options = {"cancel": cancel, "preview": preview, "on_progress": on_progress}
        return {**generate(engine, group[:half], **options), **generate(engine, group[half:], **options)}
    return {job.public_id: result for job, result in zip(group, results, strict=True)}


def save_images(result: Any, public_id: str, data_dir: Path) -> tuple[str, list[FinishedImage]]:
    """Write grid.png and 1..N.png under DATA_DIR/images/<public_id>/; returns their DB records."""
    from engine.outputs import save_result

    saved = save_result(result, data_dir / "images" / public_id, job_id=public_id)
    images = []
    for position, (path, picture, seed, slot) in enumerate(
        zip(saved.images, result.images, result.seeds, result.metadata["slots"], strict=True)
    ):
        images.append(
            FinishedImage(
                index=position + 1,
                seed=seed,
                path=_relative(Path(path), data_dir),
                sha256=hashlib.sha256(Path(path).read_bytes()).hexdigest(),
                width=picture.width,
                height=picture.height,
                batch_size=result.metadata["batch_size"],
                batch_slot=slot,
            )
        )
    return _relative(Path(saved.grid), data_dir), images


def preview_png(preview: Any) -> bytes | None:
    if preview is None:
        return None
    buffer = io.BytesIO()
    preview.save(buffer, format="PNG")
    return buffer.getvalue()


def _relative(path: Path, data_dir: Path) -> str:
    return path.resolve().relative_to(data_dir.resolve()).as_posix()
