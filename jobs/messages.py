"""What the bot's process and an engine process say to each other over their pipe.

Plain frozen dataclasses of strings, numbers, bytes and the typed `JobResult`, so they pickle cheaply
and neither side needs the other's imports: the bot's process never loads torch, the engine process
never opens the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobs.results import JobResult


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
    """In order: a job's position here is its bit in the group's cancel mask (`CancelSignal`)."""


@dataclass(frozen=True)
class Shutdown:
    """Finish the group that is running, skip the ones still waiting, then exit."""


@dataclass(frozen=True)
class Ready:
    pid: int
    resident: tuple[str, ...] = ()
    """The registered models in the engine's memory (warm-up loads the default)."""


@dataclass(frozen=True)
class Resident:
    """The models in the engine's memory changed (one was loaded, perhaps another dropped)."""

    models: tuple[str, ...]


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
    result: JobResult


@dataclass(frozen=True)
class JobFailed:
    public_id: str
    message: str
    """Written for the person who asked for the image: a short reason and the reference, nothing else."""
    reference: str = ""
    """Names this failure in the bot's log, where `details` are written."""
    details: str = ""
    """For the log only: the error, with its traceback when it was not the member's request that could not run."""
    expected: bool = False
    """The member's request could not run (logged as a warning); otherwise something failed on the bot's side."""


@dataclass(frozen=True)
class JobCancelled:
    """Its owner cancelled it while the rest of its batch ran on: its images were made and thrown away."""

    public_id: str


@dataclass(frozen=True)
class GroupCancelled:
    """Stopped before the end: every job in it was cancelled, or the bot is shutting down."""

    seq: int


@dataclass(frozen=True)
class GroupSkipped:
    """Not started because a Shutdown came first."""

    seq: int


EngineMessage = (
    Ready
    | Resident
    | EngineBroken
    | GroupStarted
    | JobProgress
    | JobSucceeded
    | JobFailed
    | JobCancelled
    | GroupCancelled
    | GroupSkipped
)
