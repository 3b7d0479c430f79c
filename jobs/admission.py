"""What a job weighs against the caps, and whether the disk (and the storage quotas) can take another one.

Caps count cost, not jobs: a standard job — four images at the reference step count and within the
pixel budget — costs 1.0; sixteen images at 150 steps cost twenty times that. The bot's process
cannot resolve a request (that needs the model), so the cost is read from the fields as asked.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine.request import GenerationRequest, Operation
from jobs.models import Job
from jobs.queue import NewJob, QueueFull, SourceGone
from jobs.settings import JobSettings
from jobs.sources import keep_parent_image, missing_sources, parent_image
from jobs.states import JobStatus

log = logging.getLogger(__name__)

STANDARD_IMAGES = 4
REFERENCE_STEPS = 30
# An upscale draws up to four times the pixels of the image it starts from.
UPSCALE_PIXELS = 4.0
# A /describe is one short captioning pass, far less than one denoising step of four images; it still counts, so
# a member cannot fill the queue with them.
DESCRIBE_COST = 0.1
MEGABYTE = 1_048_576
# The PostgreSQL advisory lock every submit takes while it checks the caps, and every sweep of DATA_DIR/sources
# while it removes files (any fixed number will do).
SUBMIT_LOCK = 0x696D6167
# What a member is told when the image a variation, upscale, zoom, pan or Vary (Region) starts from is gone: a
# reroll or /reproduce of a job submitted before revision 0009 whose parent's images were pruned or deleted, or
# of a derived job deleted with 🗑️ the moment before (its copy swept).
PARENT_IMAGE_GONE = (
    "The image this job was made from is no longer stored on the bot (the job it came from was deleted, or its "
    "images expired), so this job cannot be made again. Start from an image the bot still shows with its buttons."
)
# Operations whose source image is an earlier job's image rather than one a member gave.
DERIVED_OPERATIONS = frozenset(
    {Operation.VARIATION, Operation.UPSCALE, Operation.ZOOM, Operation.PAN, Operation.REGION}
)


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


def check_disk(data_dir: Path, settings: JobSettings) -> None:
    limit = settings.min_free_disk_mb
    if limit and (free := free_megabytes(data_dir)) < limit:
        log.warning("refusing new jobs: %.0f MB free on the disk of DATA_DIR, MIN_FREE_DISK_MB is %.0f", free, limit)
        raise QueueFull(
            "The bot's disk is nearly full, so it is not taking new jobs right now; the operator has been "
            "told. Please try again later."
        )


def hold_submit_lock(session: Session) -> None:
    """Until the transaction ends, no job is submitted: on PostgreSQL one advisory lock, on SQLite the writer's
    lock that BEGIN IMMEDIATE takes with the transaction's first statement (`jobs.database`)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SUBMIT_LOCK})


def check_caps(session: Session, settings: JobSettings, job: NewJob, cost: float) -> None:
    """Caps in standard jobs (`jobs.admission`): per member, per server (a share of the whole queue), in
    all. Every submit holds the submit lock from here to its commit, so concurrent submits cannot each see
    room for one more and all take it."""
    hold_submit_lock(session)
    queued = session.execute(
        select(Job.user_id, Job.guild_id, func.sum(Job.cost))
        .where(Job.status == JobStatus.QUEUED)
        .group_by(Job.user_id, Job.guild_id)
    ).all()
    mine = sum(weight for user, _, weight in queued if user == job.user_id)
    server = sum(weight for _, guild, weight in queued if guild == job.guild_id)
    total = sum(weight for *_, weight in queued)
    if mine + cost > settings.max_queued_per_user:
        raise QueueFull(
            f"You already have {mine:g} jobs waiting, and this one counts as {cost:g} "
            f"(a four-image job at 30 steps counts 1); one person may have {settings.max_queued_per_user:g} "
            "waiting. Please wait for one of them to start (or cancel one), or ask for fewer images or steps."
        )
    share = settings.max_queue_share_per_server * settings.max_queue_length
    if job.guild_id is not None and server + cost > share:
        raise QueueFull(
            f"This server already has {server:g} jobs waiting, the most one server may have while the bot "
            "also serves others. Please try again in a few minutes."
        )
    if total + cost > settings.max_queue_length:
        raise QueueFull(f"The queue is full right now ({total:g} jobs waiting). Please try again in a few minutes.")


def with_parent_image_kept(data_dir: Path, job: NewJob) -> NewJob:
    """Before the submit's transaction (file work must not hold SQLite's writer lock): a job that starts from an
    earlier job's image under DATA_DIR/images/ — every one `bot.derive` makes, and a reroll or /reproduce of one
    submitted before revision 0009 — starts from its copy under DATA_DIR/sources/ instead (`jobs.sources`), so
    pruning or deleting the parent's folder never takes it; refused when that image is already gone."""
    image = parent_image(job.request.source_image, data_dir)
    if image is None:
        return job
    if not image.is_file():
        raise SourceGone(PARENT_IMAGE_GONE)
    try:
        kept = keep_parent_image(image, data_dir)
    except FileNotFoundError:  # pruned or deleted since the line above
        raise SourceGone(PARENT_IMAGE_GONE) from None
    return dataclasses.replace(job, request=job.request.model_copy(update={"source_image": str(kept)}))


def check_sources(data_dir: Path, job: NewJob) -> None:
    """Under the submit lock: the images the job starts from are still stored. A sweep of DATA_DIR/sources holds
    the same lock while it removes files (`jobs.storage`), so a job either committed its references before the
    sweep read them, or sees here that a file it names has gone."""
    if not missing_sources(job.request, data_dir):
        return
    if job.request.operation in DERIVED_OPERATIONS:
        raise SourceGone(PARENT_IMAGE_GONE)
    raise SourceGone(
        "An image this job starts from is no longer stored on the bot: the jobs that used it were deleted. "
        "Attach the image (or paste its address) again to start from it."
    )


def check_quotas(session: Session, settings: JobSettings, job: NewJob) -> None:
    """STORAGE_QUOTA_PER_MEMBER_MB and _PER_SERVER_MB, from the bytes recorded on each finished job."""
    checks = [(Job.user_id == job.user_id, settings.storage_quota_per_member_mb, "Your")]
    server = Job.guild_id == job.guild_id if job.guild_id is not None else Job.guild_id.is_(None)
    checks.append((server, settings.storage_quota_per_server_mb, "This server's"))
    for chosen, quota_mb, whose in checks:
        if quota_mb:
            kept = session.scalar(select(func.coalesce(func.sum(Job.stored_bytes), 0)).where(chosen))
            if refusal := quota_refusal(int(kept), quota_mb, whose):
                raise QueueFull(refusal)
