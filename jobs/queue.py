"""The queue's contract: what the processor and the service need from wherever jobs are stored."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.request import GenerationRequest
from jobs.models import JobKind
from jobs.views import JobView


class QueueFull(Exception):
    """A cap was hit at submit; str(error) is a polite message to show the user as is."""


class UnknownParent(ValueError):
    """The parent job named at submit does not exist."""


@dataclass(frozen=True)
class NewJob:
    request: GenerationRequest
    kind: JobKind
    user_id: int
    raw_prompt: str
    guild_id: int | None = None
    channel_id: int | None = None
    parent_public_id: str | None = None
    parent_index: int | None = None


@dataclass(frozen=True)
class WaitingJob:
    public_id: str
    user_id: int
    kind: JobKind
    parameters: dict[str, Any]
    """The request as stored (not resolved: only the engine process can resolve it)."""


@dataclass(frozen=True)
class FinishedImage:
    index: int
    seed: int
    path: str
    """Relative to DATA_DIR."""
    sha256: str
    width: int
    height: int
    batch_size: int
    batch_slot: int


def interrupted_message(attempts: int) -> str:
    return (
        f"This job was interrupted {attempts} times while generating (the bot restarted or crashed), "
        "so it was stopped. Please try again, perhaps with fewer images or a smaller size."
    )


class JobQueue(ABC):
    """Every state change is committed before the method returns."""

    @abstractmethod
    def submit(self, job: NewJob) -> JobView:
        """Store a queued job; raises QueueFull when the user's or the global cap is reached."""

    @abstractmethod
    def waiting(self) -> list[WaitingJob]:
        """All queued jobs in the order they will be served."""

    @abstractmethod
    def claim_next(self, *, device: str, batch_id: str, max_batch_images: int) -> list[WaitingJob]:
        """In one transaction: take the next job in serving order (within its user's running cap), add the
        compatible waiting imagine jobs that fit in the same UNet batch, and mark them all running."""

    @abstractmethod
    def finish(
        self,
        public_id: str,
        *,
        parameters: dict[str, Any],
        grid_path: str,
        images: Sequence[FinishedImage],
        model: str | None,
        batch_images: int,
    ) -> bool:
        """Record the resolved request, the images and success in one transaction; False if the job was no
        longer running."""

    @abstractmethod
    def fail(self, public_id: str, message: str) -> bool:
        """Running or queued job → failed with a message for the user."""

    @abstractmethod
    def release(self, public_id: str) -> bool:
        """Running job → queued again without counting an attempt (after a graceful stop, when a batch
        mate was cancelled, or when its engine process ended before starting it)."""

    @abstractmethod
    def cancel_queued(self, public_id: str) -> bool:
        """Queued job → cancelled; False if it had already started or finished."""

    @abstractmethod
    def mark_cancelled(self, public_id: str) -> bool:
        """Running job → cancelled, once the engine has stopped."""

    @abstractmethod
    def recover(self, max_attempts: int, public_ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """Running jobs whose generation died (all of them at start-up, or the given ones) go back to the
        queue, or fail once they have been tried max_attempts times: returns (public_id, message) of those."""

    def positions(self) -> dict[str, int]:
        """Each queued job's 1-based place in line."""
        return {job.public_id: place for place, job in enumerate(self.waiting(), start=1)}
