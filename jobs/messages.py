"""What the bot's process and an engine process say to each other over their pipe.

Plain frozen dataclasses of strings, numbers and bytes, so they pickle cheaply and neither side
needs the other's imports: the bot's process never loads torch, the engine process never opens
the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobs.queue import FinishedImage


@dataclass(frozen=True)
class GroupJob:
    public_id: str
    parameters: dict[str, Any]
    """The request as stored; the engine process validates and resolves it."""


@dataclass(frozen=True)
class RunGroup:
    """Generate these jobs, as one UNet batch when there are several."""

    seq: int
    """Numbers the groups sent to one engine process; cancellation names the group it is meant for."""
    jobs: tuple[GroupJob, ...]
    preview: bool
    """Someone follows these jobs: send preview PNGs with the progress reports (one per PREVIEW_INTERVAL)."""


@dataclass(frozen=True)
class Shutdown:
    """Finish the group that is running, skip the ones still waiting, then exit."""


@dataclass(frozen=True)
class Ready:
    pid: int


@dataclass(frozen=True)
class EngineBroken:
    """Building the engine failed; the process exits after sending this."""

    details: str


@dataclass(frozen=True)
class GroupStarted:
    seq: int


@dataclass(frozen=True)
class JobProgress:
    public_id: str
    fraction: float
    preview_png: bytes | None


@dataclass(frozen=True)
class JobSucceeded:
    public_id: str
    parameters: dict[str, Any]
    """The resolved request: stored so the record reproduces the images after the defaults change."""
    grid_path: str
    """Relative to DATA_DIR, like every image path."""
    images: tuple[FinishedImage, ...]
    model: str | None
    batch_images: int


@dataclass(frozen=True)
class JobFailed:
    public_id: str
    message: str
    """Written for the person who asked for the image."""


@dataclass(frozen=True)
class GroupCancelled:
    seq: int


@dataclass(frozen=True)
class GroupSkipped:
    """Not started because a Shutdown came first."""

    seq: int
