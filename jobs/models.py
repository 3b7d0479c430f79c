"""The history tables: every job, every image it produced, and per-user and per-guild settings.

Images stay on disk under DATA_DIR/images/<public_id>/; rows hold their relative path and sha256.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, String, Text, UniqueConstraint, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

PUBLIC_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
PUBLIC_ID_LENGTH = 10


def new_public_id() -> str:
    """Ten base32 characters (50 bits): short enough for a button's custom id, never guessable."""
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobKind(StrEnum):
    IMAGINE = "imagine"
    VARIATION = "variation"
    UPSCALE = "upscale"
    ZOOM = "zoom"
    PAN = "pan"
    REROLL = "reroll"
    REPRODUCE = "reproduce"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_user", "status", "user_id"),
        # Serving order asks when each waiting user last had a job start; on a long history
        # this index answers that with one lookup per user instead of a scan of their jobs.
        Index("ix_jobs_user_started", "user_id", "started_at"),
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
    """The request as submitted; replaced by the resolved request when the job starts."""
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

    parent: Mapped[Job | None] = relationship(remote_side=[id])
    images: Mapped[list[Image]] = relationship(back_populates="job", order_by="Image.index")


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

    job: Mapped[Job] = relationship(back_populates="images")


class UserSettings(Base):
    __tablename__ = "user_settings"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    defaults: Mapped[dict[str, Any]] = mapped_column(default=dict)
    others_may_use_buttons: Mapped[bool] = mapped_column(default=True, server_default=true())
    """As on Midjourney: whoever presses a button on your images gets the new job under their own name."""

    @classmethod
    def for_new_user(cls, user_id: int) -> UserSettings:
        """The settings of someone who never changed any; SQLAlchemy would fill the defaults only on insert."""
        return cls(user_id=user_id, defaults={}, others_may_use_buttons=True)


class GuildConfig(Base):
    __tablename__ = "guild_config"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    allowed_channel_ids: Mapped[list[Any]] = mapped_column(default=list)
    banned_words: Mapped[list[Any]] = mapped_column(default=list)
    admin_role_id: Mapped[int | None] = mapped_column(BigInteger)
