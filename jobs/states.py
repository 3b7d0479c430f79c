"""The words of a job's life, shared by the queue and the bot: what kind of job it is and where it stands.

Plain enums with no database imports, so the bot can name a status without touching the ORM.
"""

from __future__ import annotations

from enum import StrEnum


class JobKind(StrEnum):
    IMAGINE = "imagine"
    VARIATION = "variation"
    UPSCALE = "upscale"
    ZOOM = "zoom"
    PAN = "pan"
    REROLL = "reroll"
    REPRODUCE = "reproduce"
    REGION = "region"
    BLEND = "blend"
    DESCRIBE = "describe"
    """/describe or its 🔄: prompt suggestions for an image, no images."""


class JobStatus(StrEnum):
    """queued → running → succeeded | failed | cancelled; `delivered_at` on the job then records that its
    final message reached Discord (the outbox)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class VariationMode(StrEnum):
    """What the V1–V4 buttons under a member's grids do (/settings), as Midjourney's high and low variation modes."""

    STRONG = "strong"
    SUBTLE = "subtle"


class ContentPolicy(StrEnum):
    """What a server does with an image a safety checker or classifier flagged (set with /config)."""

    BLOCK = "block"
    """The image is not shown; the message says why."""
    SPOILER = "spoiler"
    """Shown behind Discord's spoiler cover."""
    AGE_RESTRICTED = "age-restricted"
    """Shown in the server's age-restricted channels only; blocked elsewhere."""


class DeviceState(StrEnum):
    """Where a device's engine process stands, for the health endpoint and the metrics."""

    STARTING = "starting"
    """Building its engine: at start, or again after its process ended."""
    READY = "ready"
    FAILING = "failing"
    """Its engine process ended several times in a row without becoming ready (the log says why)."""
    STOPPED = "stopped"
    """Its feeding thread has ended: after a stop, or because of a bug (the log has the traceback)."""
