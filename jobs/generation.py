"""Running one group of jobs on an engine, inside the engine process: batching, splitting on failure, saving.

A group is one job, or several compatible imagine jobs that share a UNet batch; the engine reports
each image's batch size and slot, which the history keeps so any image can be replayed exactly. When a
batch fails (out of GPU memory, or any error that cannot be pinned on one job) it is split in halves
and each half runs again, so one bad job fails alone and the others still get their images.

Only the engine process imports this module's torch-using parts (inside the functions that need them).
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import secrets
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from engine.request import GenerationRequest, Operation
from engine.results import (
    ContentFilterUnavailable,
    DescriptionResult,
    GenerationCancelled,
    GenerationResult,
    ModelNotFoundError,
    ModelUnavailable,
    Progress,
    RequestError,
)
from jobs.messages import JobFailed
from jobs.results import ImageRecord, JobResult, forget_result, result_folder, write_result

log = logging.getLogger(__name__)

# The largest preview sent to the bot's process: about one megapixel, whatever the image size.
PREVIEW_MAX_PIXELS = 1_000_000
# A failure's reason is cut to this, so that it and its reference fit the 300 characters a message's status shows.
MAX_REASON = 240
# What a member reads when a job fails for a reason that is not theirs to fix.
INTERNAL_FAILURE = "Generating the images failed because of a problem on the bot's side."
MODEL_FAILURE = "A model this job needs could not be loaded."
FILTER_FAILURE = "This server's content filter is not working right now, so the images were held back."
UNREADABLE_REQUEST = "This job's stored request can no longer be read (it may come from another version of the bot)."
SAVE_FAILURE = "The images were made but could not be saved."
# Members choose neither the pixel count (--ar keeps the model's area) nor how many images a job makes, and steps do
# not change the memory a run needs: what is left to them is another time, or another model.
OUT_OF_MEMORY = (
    "The GPU ran out of memory for this job. Run it again later, when the bot may be less busy, or choose a "
    "smaller model with --model if this server has several (/info lists them)."
)


@dataclass(frozen=True)
class ClaimedJob:
    public_id: str
    request: GenerationRequest


Outcome = GenerationResult | DescriptionResult | Exception


def is_out_of_memory(error: BaseException) -> bool:
    import torch

    return isinstance(error, torch.OutOfMemoryError)


def user_message(error: BaseException) -> str:
    """The short reason the person who asked sees: what they can do about it, never a path, a model's source, a
    library version or a traceback. Only `RequestError`s are written for members and shown as they are."""
    if is_out_of_memory(error):
        return OUT_OF_MEMORY
    if isinstance(error, RequestError):
        return str(error)
    if isinstance(error, ContentFilterUnavailable):
        return FILTER_FAILURE
    if isinstance(error, ModelNotFoundError):
        return MODEL_FAILURE
    return INTERNAL_FAILURE


def job_failed(public_id: str, error: BaseException, reason: str | None = None) -> JobFailed:
    """The failure as the bot's process records it: the member's short reason (`user_message`, unless `reason`
    says otherwise) with a reference, and for the log the error and its traceback under the same reference."""
    reference = secrets.token_hex(4)
    reason = reason or user_message(error)
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1].rstrip() + "…"
    # The member's request cannot run as asked (a budget, a sampler): a warning, without a traceback. A registered
    # model that does not load is the operator's business: an error, with its cause.
    expected = isinstance(error, RequestError) and not isinstance(error, ModelUnavailable)
    details = f"{type(error).__name__}: {error}" if expected else "".join(traceback.format_exception(error)).rstrip()
    return JobFailed(public_id, f"{reason} (reference `{reference}`)", reference, details, expected)


def generate(
    engine: Any,
    group: Sequence[ClaimedJob],
    *,
    cancel: Any,
    preview: bool,
    on_progress: Callable[[str, Progress], None],
) -> dict[str, Outcome]:
    """Each job's GenerationResult (a /describe's DescriptionResult), or the exception that failed it. Cancellation
    ends the whole group."""
    callbacks = [functools.partial(on_progress, job.public_id) for job in group]
    try:
        if group[0].request.operation is Operation.DESCRIBE:  # never batched: its batch key is None
            results = [engine.describe(group[0].request, cancel=cancel)]
        elif len(group) == 1:
            results = [engine.run(group[0].request, on_progress=callbacks[0], cancel=cancel, preview=preview)]
        else:
            results = engine.run_batch(
                [job.request for job in group], on_progress=callbacks, cancel=cancel, preview=preview
            )
    except GenerationCancelled:
        raise
    except Exception as error:
        if len(group) == 1:  # the bot's process logs it, traceback included, with the member's reference
            return {group[0].public_id: error}
        log.warning("batch of %d jobs failed (%s: %s); running it in halves", len(group), type(error).__name__, error)
        half = len(group) // 2
        options = {"cancel": cancel, "preview": preview, "on_progress": on_progress}
        return {**generate(engine, group[:half], **options), **generate(engine, group[half:], **options)}
    return {job.public_id: result for job, result in zip(group, results, strict=True)}


def save_images(result: GenerationResult | DescriptionResult, public_id: str, data_dir: Path) -> JobResult:
    """Write grid.png and 1..N.png under DATA_DIR/images/<public_id>/, then their record as result.json; a
    /describe has no images, only the record."""
    from engine.outputs import save_result

    forget_result(data_dir, public_id)
    if isinstance(result, DescriptionResult):
        return save_description(result, public_id, data_dir)
    saved = save_result(result, result_folder(data_dir, public_id), job_id=public_id)
    images = tuple(
        ImageRecord(
            index=position + 1,
            seed=seed,
            path=_relative(Path(path), data_dir),
            sha256=hashlib.sha256(Path(path).read_bytes()).hexdigest(),
            width=picture.width,
            height=picture.height,
            batch_size=result.run.batch_size,
            batch_slot=slot,
            flagged=result.is_flagged(position),
        )
        for position, (path, picture, seed, slot) in enumerate(
            zip(saved.images, result.images, result.seeds, result.slots, strict=True)
        )
    )
    record = JobResult(
        parameters=result.request.model_dump(mode="json"),
        grid_path=_relative(Path(saved.grid), data_dir),
        images=images,
        model=result.run.model,
        batch_images=result.run.batch_size,
    )
    write_result(data_dir, public_id, record)
    return record


def save_description(result: DescriptionResult, public_id: str, data_dir: Path) -> JobResult:
    """The suggestions' record as result.json, the durable copy that recovery finishes the job from."""
    record = JobResult(
        parameters=result.request.model_dump(mode="json"),
        grid_path=None,
        images=(),
        model=None,  # the captioner is the operator's setting, not a model members pick
        batch_images=0,
        suggestions=result.suggestions,
    )
    result_folder(data_dir, public_id).mkdir(parents=True, exist_ok=True)
    write_result(data_dir, public_id, record)
    return record


def preview_png(preview: Image.Image | None) -> bytes | None:
    """The preview as a PNG of at most PREVIEW_MAX_PIXELS (a 16-image grid of large images is scaled down),
    so what reaches the bot's process is always small enough to post as it is."""
    if preview is None:
        return None
    if preview.width * preview.height > PREVIEW_MAX_PIXELS:
        scale = (PREVIEW_MAX_PIXELS / (preview.width * preview.height)) ** 0.5
        preview = preview.resize((max(1, int(preview.width * scale)), max(1, int(preview.height * scale))))
    buffer = io.BytesIO()
    preview.save(buffer, format="PNG")
    return buffer.getvalue()


def _relative(path: Path, data_dir: Path) -> Path:
    return path.resolve().relative_to(data_dir.resolve())
