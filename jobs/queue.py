"""The queue's contract: the one owner of a job's life.

Every transition — queued, running, succeeded, failed, cancelled, released, recovered, delivered —
is one method that commits the change and then announces it to the event hub, in that one call
(InvokeAI's session queue works the same way). Nothing else in `jobs/` writes a job's status or
publishes its transitions, so a change can never be committed without being told, or told without
being committed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from engine.request import GenerationRequest
from jobs.results import JobResult
from jobs.states import JobKind
from jobs.views import JobView


class QueueFull(Exception):
    """A cap was hit at submit; str(error) is a polite message to show the user as is."""


class SourceGone(QueueFull):
    """An image the job starts from is no longer stored (`jobs.sources`): refused at submit like a cap, with a
    message for the member, rather than admitted to fail in the engine."""


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

    @cached_property
    def request(self) -> GenerationRequest:
        return GenerationRequest.model_validate(self.parameters)


def interrupted_message(attempts: int) -> str:
    return (
        f"This job was interrupted {attempts} times while generating (the bot restarted or crashed), "
        "so it was stopped. Please try again, perhaps with fewer images or a smaller size."
    )


class JobQueue(ABC):
    """Each method commits before it announces, and announces before it returns."""

    @abstractmethod
    def submit(self, job: NewJob) -> JobView:
        """→ queued, with the names of the stored images it starts from (an earlier job's image is copied among
        them first, and the request names the copy). Raises QueueFull when the user's or the global cap is
        reached, SourceGone when an image it starts from is no longer stored."""

    @abstractmethod
    def waiting(self) -> list[WaitingJob]:
        """All queued jobs in the order they will be served."""

    @abstractmethod
    def claim_next(
        self, *, device: str, batch_id: str, max_batch_images: int, loaded_models: frozenset[str] = frozenset()
    ) -> list[WaitingJob]:
        """queued → running, in one transaction: the next job in serving order (within its user's running
        cap; a job for one of the device's `loaded_models` may go first, within MODEL_SWITCH_PATIENCE) and
        the compatible waiting imagine jobs that fit in the same UNet batch. Announces Started."""

    @abstractmethod
    def finish(self, public_id: str, result: JobResult) -> JobView | None:
        """running → succeeded with its images, in one transaction; announces Finished. None (and nothing
        written) if the job was no longer running: a result arrives at most once."""

    @abstractmethod
    def fail(self, public_id: str, message: str) -> bool:
        """queued or running → failed with a message for the user; announces Failed."""

    @abstractmethod
    def cancel(self, public_id: str) -> bool:
        """queued or running → cancelled; announces Cancelled. A running job's engine is told separately
        (`Processor.cancel`); whatever it still produces for the job is discarded by `finish`."""

    @abstractmethod
    def release(self, public_ids: Sequence[str]) -> None:
        """running → queued without counting an attempt (a graceful stop, or a group its engine process
        never started); they hear their place in line again."""

    @abstractmethod
    def recover(self, public_ids: Sequence[str] | None = None) -> None:
        """Running jobs whose generation was interrupted (all of them at start-up, or the given ones):
        finished from the result their engine left on disk when every file is intact, else back in line
        (the attempt stays counted), or failed once they have used MAX_ATTEMPTS."""

    @abstractmethod
    def mark_delivered(self, public_id: str, note: str | None = None) -> bool:
        """The job's final message is on Discord (or, with a note saying why, can never be)."""

    def positions(self) -> dict[str, int]:
        """Each queued job's 1-based place in line."""
        return {job.public_id: place for place, job in enumerate(self.waiting(), start=1)}
