"""Running a claimed group on an engine, wherever the engine lives: in an engine process on this machine
(`jobs.engine_process`) or in an engine actor on a Ray node (`jobs.ray_backend.actor`).

`run_group` generates a group and reports on it through an outbox (the process's pipe, the actor's stream):
progress with previews, then each job's result or failure, its images saved on a saving thread while the
next group already generates. The bot tells a generating engine to stop through a `CancelSignal`, read at
every denoising step. An engine dies with whoever owns it (`die_with_parent`).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from engine.request import GenerationRequest
from engine.results import GenerationCancelled, Progress
from jobs.generation import (
    SAVE_FAILURE,
    UNREADABLE_REQUEST,
    ClaimedJob,
    Outcome,
    generate,
    job_failed,
    preview_png,
    save_images,
)
from jobs.messages import (
    EngineMessage,
    GroupCancelled,
    GroupStarted,
    JobCancelled,
    JobFailed,
    JobProgress,
    JobSucceeded,
    RunGroup,
)

SPAWN = multiprocessing.get_context("spawn")
# Where the engine and the bot compete for a CPU core, the bot's event loop goes first: acknowledging an
# interaction within Discord's 3 s matters more than a few milliseconds of generation.
ENGINE_NICENESS = 5
# Groups whose per-job cancellations are kept; a device holds at most two groups at a time.
CANCEL_RING = 4
# Integers per group in the ring: its number + 1, its cancel mask, whether previews are wanted.
SLOT = 3
# Linux's prctl option that signals a process when its parent dies.
PR_SET_PDEATHSIG = 1
# Elsewhere (and as a second line on Linux), how often the engine process checks that its parent lives.
PARENT_CHECK_SECONDS = 1.0


class CancelSignal:
    """What the bot's process tells a generating engine process, in memory they share.

    The engine's main thread is busy generating and reads its pipe only between groups, so
    cancellation cannot travel over the pipe. Three things are shared instead:

    - "abort every group up to number N" (a stop that ran out of time): the engine process runs
      its groups in the order they were sent, so this stops exactly what runs, never what follows;
    - one bit per job of each recent group (a ring of CANCEL_RING slots keyed by the group's
      number): a member who cancels one job of a shared batch does not stop the others' work. The
      batch runs on and the cancelled job's images are thrown away; only when every job of the
      group is cancelled does the engine stop it early;
    - whether anyone follows a job of the group: previews are rendered only then, and a member whose
      message starts following after the engine took the job gets them from the next step.

    The engine's cancel hook reads these at every denoising step. They are lock-free shared integers
    rather than a multiprocessing Event, whose is_set takes a lock that an engine process killed while
    holding it would leave held. Only the bot's process writes them, under its device worker's lock.
    """

    def __init__(self) -> None:
        self._abort_up_to = SPAWN.RawValue("q", -1)
        # (seq + 1, cancel mask, previews wanted) per slot; 0 marks an empty slot
        self._ring = SPAWN.RawArray("Q", CANCEL_RING * SLOT)

    # the bot's side

    def open_group(self, seq: int) -> None:
        base = seq % CANCEL_RING * SLOT
        self._ring[base + 1] = self._ring[base + 2] = 0
        self._ring[base] = seq + 1

    def cancel_job(self, seq: int, position: int) -> None:
        base = seq % CANCEL_RING * SLOT
        if self._ring[base] == seq + 1:
            self._ring[base + 1] |= 1 << position

    def want_previews(self, seq: int) -> None:
        """Someone follows a job of this group (perhaps only since it started): send previews from now on."""
        base = seq % CANCEL_RING * SLOT
        if self._ring[base] == seq + 1:
            self._ring[base + 2] = 1

    def abort_up_to(self, seq: int) -> None:
        self._abort_up_to.value = max(self._abort_up_to.value, seq)

    # the engine's side

    def job_cancelled(self, seq: int, position: int) -> bool:
        base = seq % CANCEL_RING * SLOT
        return self._ring[base] == seq + 1 and bool(self._ring[base + 1] >> position & 1)

    def previews_wanted(self, seq: int) -> bool:
        base = seq % CANCEL_RING * SLOT
        return self._ring[base] == seq + 1 and bool(self._ring[base + 2])

    def for_group(self, seq: int, size: int) -> _GroupCancel:
        return _GroupCancel(self, seq, size)

    def is_aborted(self, seq: int) -> bool:
        return seq <= self._abort_up_to.value


class _GroupCancel:
    """What the engine sees as its `cancel` event: set when the group is aborted or all its jobs are cancelled."""

    def __init__(self, signal: CancelSignal, seq: int, size: int) -> None:
        self._signal = signal
        self._seq = seq
        self._size = size

    def is_set(self) -> bool:
        if self._signal.is_aborted(self._seq):
            return True
        return all(self._signal.job_cancelled(self._seq, position) for position in range(self._size))


def die_with_parent(parent_pid: int) -> None:
    """Exit when the bot's process dies, however it dies: SIGKILL included, which runs no cleanup there."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # it died before the line above took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="jobs-parent-watch", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(1)


class Outbox(Protocol):
    """Where an engine's messages go; called from the generating thread and the saving thread."""

    def send(self, message: EngineMessage) -> None: ...


def run_group(
    engine: Any,
    group: RunGroup,
    outbox: Outbox,
    cancel: CancelSignal,
    saver: Executor,
    data_dir: Path,
    preview_interval: float,
) -> None:
    outbox.send(GroupStarted(group.seq))
    positions = {job.public_id: position for position, job in enumerate(group.jobs)}
    claimed = []
    for job in group.jobs:
        try:
            claimed.append(ClaimedJob(job.public_id, GenerationRequest.model_validate(job.parameters)))
        except ValidationError as error:
            outbox.send(job_failed(job.public_id, error, UNREADABLE_REQUEST))
    if not claimed:
        return

    last_preview: dict[str, float] = {}

    def progress(public_id: str, update: Progress) -> None:
        now, png = time.monotonic(), None
        due = now - last_preview.get(public_id, -preview_interval) >= preview_interval
        if due and update.make_preview is not None and cancel.previews_wanted(group.seq):
            png, last_preview[public_id] = preview_png(update.preview()), now
        outbox.send(JobProgress(public_id, float(update.fraction), png))

    try:
        outcomes = generate(
            engine,
            claimed,
            cancel=cancel.for_group(group.seq, len(group.jobs)),
            preview=True,  # a preview is only rendered when asked for: followers may come mid-generation
            on_progress=progress,
        )
    except GenerationCancelled:
        outbox.send(GroupCancelled(group.seq))
        return
    for public_id, outcome in outcomes.items():
        if cancel.job_cancelled(group.seq, positions[public_id]):
            outbox.send(JobCancelled(public_id))  # its batch mates' work went on; its own images are dropped
        else:
            saver.submit(_report_outcome, outbox, public_id, outcome, data_dir)


def _report_outcome(outbox: Outbox, public_id: str, outcome: Outcome, data_dir: Path) -> None:
    with contextlib.suppress(BrokenPipeError, ConnectionResetError, EOFError):  # the bot's process is gone
        outbox.send(_outcome_message(public_id, outcome, data_dir))


def _outcome_message(public_id: str, outcome: Outcome, data_dir: Path) -> JobSucceeded | JobFailed:
    if isinstance(outcome, Exception):
        return job_failed(public_id, outcome)
    try:
        result = save_images(outcome, public_id, data_dir)
    except Exception as error:
        return job_failed(public_id, error, SAVE_FAILURE)
    return JobSucceeded(public_id, result)
