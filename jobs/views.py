"""Frozen snapshots of database rows: what the bot gets instead of ORM objects.

A view can be passed between threads and kept across awaits without touching a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.request import GenerationRequest
from jobs.models import FINISHED_STATUSES, GuildConfig, Image, Job, JobKind, JobStatus, UserSettings


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without a zone; they were written in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ImageView:
    job_public_id: str
    index: int
    """1-based, as in U1..U4."""
    seed: int
    path: Path
    sha256: str
    width: int
    height: int
    batch_size: int
    batch_slot: int

    @classmethod
    def of(cls, image: Image, job_public_id: str, data_dir: Path) -> ImageView:
        return cls(
            job_public_id=job_public_id,
            index=image.index,
            seed=image.seed,
            path=data_dir / image.path,
            sha256=image.sha256,
            width=image.width,
            height=image.height,
            batch_size=image.batch_size,
            batch_slot=image.batch_slot,
        )


@dataclass(frozen=True)
class JobView:
    public_id: str
    kind: JobKind
    status: JobStatus
    user_id: int
    guild_id: int | None
    channel_id: int | None
    message_id: int | None
    raw_prompt: str
    parameters: dict[str, Any] = field(hash=False)
    model: str | None
    seed: int
    error: str | None
    attempts: int
    device: str | None
    parent_public_id: str | None
    parent_index: int | None
    batch_id: str | None
    batch_images: int | None
    grid_path: Path | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    images: tuple[ImageView, ...] = ()

    @property
    def request(self) -> GenerationRequest:
        return GenerationRequest.model_validate(self.parameters)

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @classmethod
    def of(cls, job: Job, data_dir: Path, *, with_images: bool = True) -> JobView:
        images = tuple(ImageView.of(image, job.public_id, data_dir) for image in job.images) if with_images else ()
        return cls(
            public_id=job.public_id,
            kind=JobKind(job.kind),
            status=JobStatus(job.status),
            user_id=job.user_id,
            guild_id=job.guild_id,
            channel_id=job.channel_id,
            message_id=job.message_id,
            raw_prompt=job.raw_prompt,
            parameters=dict(job.parameters),
            model=job.model,
            seed=job.seed,
            error=job.error,
            attempts=job.attempts,
            device=job.device,
            parent_public_id=job.parent.public_id if job.parent else None,
            parent_index=job.parent_index,
            batch_id=job.batch_id,
            batch_images=job.batch_images,
            grid_path=data_dir / job.grid_path if job.grid_path else None,
            created_at=_aware(job.created_at),
            started_at=_aware(job.started_at),
            finished_at=_aware(job.finished_at),
            images=images,
        )


@dataclass(frozen=True)
class UserSettingsView:
    user_id: int
    defaults: dict[str, Any] = field(default_factory=dict, hash=False)
    """Flag defaults such as {"aspect": "16:9", "steps": 20}, applied by the bot's prompt parser."""
    others_may_use_buttons: bool = True

    @classmethod
    def of(cls, row: UserSettings) -> UserSettingsView:
        return cls(user_id=row.user_id, defaults=dict(row.defaults), others_may_use_buttons=row.others_may_use_buttons)


@dataclass(frozen=True)
class GuildConfigView:
    guild_id: int
    allowed_channel_ids: tuple[int, ...] = ()
    """Empty means every channel."""
    banned_words: tuple[str, ...] = ()
    admin_role_id: int | None = None

    @classmethod
    def of(cls, row: GuildConfig) -> GuildConfigView:
        return cls(
            guild_id=row.guild_id,
            allowed_channel_ids=tuple(int(c) for c in row.allowed_channel_ids),
            banned_words=tuple(row.banned_words),
            admin_role_id=row.admin_role_id,
        )


@dataclass(frozen=True)
class QueueStats:
    queue_length: int
    running: int
    positions_by_user: dict[int, tuple[int, ...]] = field(hash=False)
    """Each user's queued jobs' 1-based places in the line."""
    model: str
    devices: tuple[str, ...]
    uptime_seconds: float
