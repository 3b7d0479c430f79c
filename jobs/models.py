"""The history tables: every job, every image it produced, and per-user and per-guild settings.

Images stay on disk under DATA_DIR/images/<public_id>/; rows hold their relative path and sha256. The images
jobs start from (what members give as prompts, and copies of the earlier jobs' images that variations, upscales,
zooms and pans start from) stay under DATA_DIR/sources/, shared by hash; `job_sources` says which jobs name which.
Each row builds its own frozen view (`jobs.views`), so no ORM object leaves `jobs/`.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from engine.request import GenerationRequest
from jobs.results import ImageRecord
from jobs.states import ContentPolicy, JobKind, JobStatus, VariationMode
from jobs.views import GuildConfigView, JobView, UserSettingsView

PUBLIC_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
PUBLIC_ID_LENGTH = 10
# Longest note kept on why a final message could not be shown.
MAX_DELIVERY_NOTE = 300


def new_public_id() -> str:
    """Ten base32 characters (50 bits): short enough for a button's custom id, never guessable."""
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without a zone; they were written in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_user", "status", "user_id"),
        # Serving order asks when each waiting user last had a job start; on a long history
        # this index answers that with one lookup per user instead of a scan of their jobs.
        Index("ix_jobs_user_started", "user_id", "started_at"),
        # Start-up looks for jobs whose final message is not on Discord yet: few, among many delivered.
        Index("ix_jobs_delivered", "delivered_at"),
        # A server's share of the queue, at every submit.
        Index("ix_jobs_guild_status", "guild_id", "status"),
        # A deleted message names its job by the message's id.
        Index("ix_jobs_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True, default=new_public_id)
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    parent_index: Mapped[int | None]
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    guild_id: Mapped[int | None] = mapped_column(BigInteger)
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    raw_prompt: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]]
    """The request as submitted; replaced by the resolved request when the job succeeds."""
    model: Mapped[str | None] = mapped_column(String(300))
    seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    device: Mapped[str | None] = mapped_column(String(32))
    grid_path: Mapped[str | None] = mapped_column(String(500))
    batch_id: Mapped[str | None] = mapped_column(String(32))
    """Jobs that shared one UNet batch share this id."""
    batch_images: Mapped[int | None]
    """How many images that UNet batch held in total."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    """Set once the final message is on Discord (or known to be gone): the outbox's mark."""
    delivery_note: Mapped[str | None] = mapped_column(String(MAX_DELIVERY_NOTE))
    cost: Mapped[float] = mapped_column(Float, default=1.0, server_default="1.0")
    """What the job weighs against the caps: 1.0 is a standard four-image job (`jobs.admission`)."""
    hidden_at: Mapped[datetime | None]
    """Deleted by its owner or a server admin: no /show, /reproduce or buttons any more."""
    hidden_by: Mapped[int | None] = mapped_column(BigInteger)
    images_pruned_at: Mapped[datetime | None]
    """Its image files were removed after RETENTION_DAYS (the record still reproduces them)."""
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """What its files take on disk, counted when it finishes and zeroed when it is pruned or deleted (🗑️): the
    storage quotas add these up (jobs finished before the column existed count 0)."""
    suggestions: Mapped[list[Any] | None]
    """A /describe's prompt suggestions (a JSON list of strings), set in the transaction that finishes it."""

    parent: Mapped[Job | None] = relationship(remote_side=[id])
    images: Mapped[list[Image]] = relationship(back_populates="job", order_by="Image.index")
    sources: Mapped[list[JobSource]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    def view(self, data_dir: Path, *, with_images: bool = True) -> JobView:
        images = tuple(image.record().located_in(data_dir) for image in self.images) if with_images else ()
        return JobView(
            public_id=self.public_id,
            kind=JobKind(self.kind),
            status=JobStatus(self.status),
            user_id=self.user_id,
            guild_id=self.guild_id,
            channel_id=self.channel_id,
            message_id=self.message_id,
            raw_prompt=self.raw_prompt,
            request=GenerationRequest.model_validate(self.parameters),
            model=self.model,
            seed=self.seed,
            error=self.error,
            attempts=self.attempts,
            device=self.device,
            parent_public_id=self.parent.public_id if self.parent else None,
            parent_index=self.parent_index,
            batch_id=self.batch_id,
            batch_images=self.batch_images,
            grid_path=data_dir / self.grid_path if self.grid_path else None,
            created_at=_aware(self.created_at),
            started_at=_aware(self.started_at),
            finished_at=_aware(self.finished_at),
            delivered_at=_aware(self.delivered_at),
            delivery_note=self.delivery_note,
            cost=self.cost,
            hidden_at=_aware(self.hidden_at),
            images_pruned_at=_aware(self.images_pruned_at),
            images=images,
            suggestions=tuple(self.suggestions or ()),
        )


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("job_id", "index", name="uq_images_job_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    index: Mapped[int]
    """1-based, matching the U1..U4 buttons and the file name."""
    seed: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(String(500))
    """Relative to DATA_DIR."""
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int]
    height: Mapped[int]
    batch_size: Mapped[int]
    batch_slot: Mapped[int]
    flagged: Mapped[bool] = mapped_column(default=False, server_default=false())
    """A safety checker or the operator's classifier found it unsafe; each server's policy decides."""

    job: Mapped[Job] = relationship(back_populates="images")

    @classmethod
    def of(cls, record: ImageRecord) -> Image:
        return cls(
            index=record.index,
            seed=record.seed,
            path=Path(record.path).as_posix(),
            sha256=record.sha256,
            width=record.width,
            height=record.height,
            batch_size=record.batch_size,
            batch_slot=record.batch_slot,
            flagged=record.flagged,
        )

    def record(self) -> ImageRecord:
        return ImageRecord(
            index=self.index,
            seed=self.seed,
            path=Path(self.path),
            sha256=self.sha256,
            width=self.width,
            height=self.height,
            batch_size=self.batch_size,
            batch_slot=self.batch_slot,
            flagged=self.flagged,
        )


class JobSource(Base):
    """A file under DATA_DIR/sources/ that a job starts from (`jobs.sources`), written in the transaction that
    inserts the job, so the sweep (`jobs.storage`) finds which files jobs still need without reading every
    job's request. Its rows go with the job's (RETENTION_DELETES_RECORDS)."""

    __tablename__ = "job_sources"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    """The file's name in the sources folder: the sha256 of its PNG, then `.png`."""


class UncopiedSource(Base):
    """A job submitted before revision 0009 whose request names an earlier job's image where that job keeps it,
    under DATA_DIR/images/, which RETENTION_DAYS and 🗑️ remove, rather than a copy under DATA_DIR/sources/. Once
    the job has ended, the service copies the image there and names the copy in the request, as a submit does
    now (`Storage.copy_parent_images`), and deletes the row. Only the migration writes these rows."""

    __tablename__ = "uncopied_sources"

    job_id: Mapped[int] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )


class UserSettings(Base):
    __tablename__ = "user_settings"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    defaults: Mapped[dict[str, Any]] = mapped_column(default=dict)
    others_may_use_buttons: Mapped[bool] = mapped_column(default=True, server_default=true())
    """As on Midjourney: whoever presses a button on your images gets the new job under their own name."""
    remix: Mapped[bool] = mapped_column(default=False, server_default=false())
    variation_mode: Mapped[str] = mapped_column(String(8), default=VariationMode.STRONG, server_default="strong")
    private_results: Mapped[bool] = mapped_column(default=False, server_default=false())

    @classmethod
    def for_new_user(cls, user_id: int) -> UserSettings:
        """The settings of someone who never changed any; SQLAlchemy would fill the defaults only on insert."""
        return cls(
            user_id=user_id,
            defaults={},
            others_may_use_buttons=True,
            remix=False,
            variation_mode=VariationMode.STRONG,
            private_results=False,
        )

    def view(self) -> UserSettingsView:
        return UserSettingsView(
            user_id=self.user_id,
            defaults=dict(self.defaults),
            others_may_use_buttons=self.others_may_use_buttons,
            remix=self.remix,
            variation_mode=VariationMode(self.variation_mode),
            private_results=self.private_results,
        )


class GuildConfig(Base):
    __tablename__ = "guild_config"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    allowed_channel_ids: Mapped[list[Any]] = mapped_column(default=list)
    banned_words: Mapped[list[Any]] = mapped_column(default=list)
    admin_role_id: Mapped[int | None] = mapped_column(BigInteger)
    content_policy: Mapped[str] = mapped_column(String(16), default=ContentPolicy.BLOCK, server_default="block")

    def view(self) -> GuildConfigView:
        return GuildConfigView(
            guild_id=self.guild_id,
            allowed_channel_ids=tuple(int(channel) for channel in self.allowed_channel_ids),
            banned_words=tuple(self.banned_words),
            admin_role_id=self.admin_role_id,
            content_policy=ContentPolicy(self.content_policy),
        )
