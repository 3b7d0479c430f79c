"""One device: its engine (a local process, or an actor on a cluster), the groups handed to it, and the thread
that feeds it.

The feeding thread claims the next job (or batch of compatible jobs) while the engine process is
still generating the previous one, and records each finished job while the engine already runs the
next, so the engine never waits on the database. It is the only thread that talks to its engine
process, so the bot's event loop never does. Every change to a job goes through the queue
(`jobs.queue`), which commits and announces it; this thread only decides when.

Nothing an engine reports is dropped: a database write that fails is kept and tried again, with
backoff, while the device goes on working. An engine process that goes silent for longer than
ENGINE_WATCHDOG_SECONDS while generating is killed and started again, its jobs back in line.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import wait

from jobs.engine_handle import EngineHandle, EngineStarter
from jobs.events import EventHub, ProgressEvent
from jobs.kept_writes import Backoff, KeptWrites
from jobs.messages import (
    EngineBroken,
    EngineMessage,
    GroupCancelled,
    GroupJob,
    GroupSkipped,
    GroupStarted,
    JobCancelled,
    JobFailed,
    JobProgress,
    JobSucceeded,
    Ready,
    Resident,
    RunGroup,
    Shutdown,
)
from jobs.queue import JobQueue
from jobs.serving import model_of
from jobs.settings import JobSettings
from jobs.states import DeviceState

log = logging.getLogger(__name__)

# How often an idle device looks for jobs submitted by another process (in-process submits wake it at once).
POLL_SECONDS = 0.5
# Groups handed to one engine process at a time: the one it runs and the one it starts next.
PIPELINE_DEPTH = 2
# The first restart of a dead engine process waits this long; each further one twice as long (at most a minute).
RESTART_BACKOFF_SECONDS = 0.5
# An engine process that ended this many times in a row without becoming ready makes the device FAILING.
FAILING_AFTER_RESTARTS = 3


@dataclass
class _Group:
    seq: int
    jobs: tuple[str, ...]
    """In the order sent: a job's position is its bit in the cancel mask."""
    unfinished: set[str]
    model: str
    """The registered model it runs on (a group shares one): loaded by the time it starts."""
    started: bool = False


class _BusyClock:
    """Seconds spent generating: from a group's start until no started group is left. Groups overlap (the next
    one starts while the last one's images are saved), so it counts the time covered, not each group's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0.0
        self._since: float | None = None

    def set(self, busy: bool) -> None:
        with self._lock:
            if busy and self._since is None:
                self._since = time.monotonic()
            elif not busy and self._since is not None:
                self._total += time.monotonic() - self._since
                self._since = None

    @property
    def seconds(self) -> float:
        with self._lock:
            return self._total + (time.monotonic() - self._since if self._since is not None else 0.0)


class DeviceWorker:
    """A device: its engine process, the groups handed to it, and the thread that feeds it."""

    def __init__(
        self,
        device: str,
        *,
        queue: JobQueue,
        hub: EventHub,
        settings: JobSettings,
        start_engine: EngineStarter,
        stopping: threading.Event,
        others_busy: Callable[[], bool],
    ) -> None:
        self.device = device
        self.retired = False
        """Its machine left the cluster (`Processor.retire`)."""
        self._queue = queue
        self._hub = hub
        self._settings = settings
        self._start_engine_now = start_engine
        self._stopping = stopping
        self._others_busy = others_busy
        self._lock = threading.Lock()
        """Guards `_groups`, which the event loop's thread reads to route a cancel."""
        self._groups: dict[int, _Group] = {}
        self._engine: EngineHandle | None = None
        self._ready = False
        self._restarts = 0
        self._killed_for_stop = False
        self._shutdown_sent = False
        self._next_seq = 0
        self._look_for_work = True
        """Set when a claim may find something: a wake-up, a poll interval gone by, a group over, a new engine."""
        self._writes = KeptWrites()
        self._claims = Backoff()
        """When to claim again after a claim failed; writes waiting do not stop the device from working."""
        self._last_heard = time.monotonic()
        self._resident: frozenset[str] = frozenset()
        """The models the engine process reported holding."""
        self._busy = _BusyClock()
        self._first_spawn: Future[None] = Future()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_write.setblocking(False)
        self.thread = threading.Thread(target=self._main, name=f"jobs-device-{device}", daemon=True)

    # called from other threads

    def start(self) -> None:
        """Start the feeding thread and wait until it has spawned the engine process, so that an engine
        factory that cannot travel to it fails here (JobService.start) instead of in the thread."""
        self.thread.start()
        self._first_spawn.result()

    def stop_taking_work(self) -> None:
        """The stop's first step (or a retirement): finish or hand back what it holds, then end."""
        self._stopping.set()
        self.wake()

    def retire(self) -> None:
        self.retired = True
        self.stop_taking_work()

    def wake(self) -> None:
        # a full buffer: wake-ups are already pending; closed: the thread has ended
        with contextlib.suppress(OSError):
            self._wake_write.send(b"\0")

    @property
    def busy(self) -> bool:
        return bool(self._groups)

    @property
    def busy_seconds(self) -> float:
        """Time this device has spent generating since it started (for the metrics)."""
        return self._busy.seconds

    @property
    def state(self) -> DeviceState:
        if not self.thread.is_alive():
            return DeviceState.STOPPED
        if self._ready:
            return DeviceState.READY
        return DeviceState.FAILING if self._restarts >= FAILING_AFTER_RESTARTS else DeviceState.STARTING

    def cancel(self, public_id: str) -> bool:
        """Tell the engine process to drop this job if this device holds it; True if it does."""
        with self._lock:
            for group in self._groups.values():
                if public_id in group.unfinished:
                    if self._engine is not None:  # else it has just ended and its groups go back in line
                        self._engine.cancel_job(group.seq, group.jobs.index(public_id))
                    return True
        return False

    def follow(self, public_id: str) -> None:
        """Someone started following this job: if this device holds it, its previews are sent from now on."""
        with self._lock:
            for group in self._groups.values():
                if public_id in group.unfinished and self._engine is not None:
                    self._engine.want_previews(group.seq)

    def abort_running(self) -> None:
        """At a stop that ran out of time: stop whatever group the engine process is running."""
        with self._lock:
            if self._engine is not None:
                self._engine.abort_up_to(self._next_seq - 1)

    def kill_for_stop(self) -> None:
        self._killed_for_stop = True
        engine = self._engine
        if engine is not None:
            engine.kill()

    # the feeding thread

    def _main(self) -> None:
        try:
            self._engine = self._start_engine_now()
        except BaseException as error:
            self._first_spawn.set_exception(error)
            return
        self._first_spawn.set_result(None)
        try:
            while self._step():
                pass
        except Exception:  # a bug here must not leave the device silently idle
            log.exception("the feeding thread of %s stopped", self.device)
            raise
        finally:
            self._wake_read.close()
            self._wake_write.close()

    def _step(self) -> bool:
        """One round of feeding and listening; False once stopped and the engine process has ended."""
        if self._engine is None:
            return self._start_engine()
        if self._stopping.is_set() and not self._shutdown_sent:
            self._shutdown_sent = True
            if self._ready:  # it reads its pipe between groups: let it finish and exit cleanly
                self._engine.send(Shutdown())
            else:  # still building its engine, which may take minutes: nothing to lose
                self._engine.kill()
        if self._writes.retry():
            self._look_for_work = True
        if self._should_claim():
            self._look_for_work = self._dispatch()
            if self._look_for_work:
                return True
        engine = self._engine
        if self._watchdog_expired():
            log.error(
                "the engine process for %s said nothing for %.0f s while generating; killing it",
                self.device,
                self._settings.engine_watchdog_seconds,
            )
            engine.kill()
        ready = wait([*engine.waitables, self._wake_read], self._wait_seconds())
        if self._wake_read in ready or not ready:  # a submit here, or time to look for another process's
            self._look_for_work = True
        if self._wake_read in ready:
            self._wake_read.recv(4096)
        if any(waitable in ready for waitable in engine.waitables):
            self._listen(engine)
        return True

    def _start_engine(self) -> bool:
        if self._stopping.is_set():
            self._writes.retry(force=True)
            if self._writes:
                log.error(
                    "%d results of %s could not be recorded before the stop; their images are on disk and the "
                    "next start records them",
                    len(self._writes),
                    self.device,
                )
            return False
        backoff = min(RESTART_BACKOFF_SECONDS * 2 ** (self._restarts - 1), 60.0) if self._restarts else 0.0
        if not self._stopping.wait(backoff):  # a device that keeps failing is retried ever more slowly
            self._engine = self._start_engine_now()
            self._last_heard = time.monotonic()
        return True

    def _wait_seconds(self) -> float:
        """At most a poll interval (which is also the shortest retry delay); less when the watchdog is due."""
        timeout = POLL_SECONDS
        if self._generating():
            remaining = self._last_heard + self._settings.engine_watchdog_seconds - time.monotonic()
            timeout = min(timeout, max(remaining, 0.0))
        return timeout

    def _generating(self) -> bool:
        return any(group.started for group in self._groups.values())

    def _watchdog_expired(self) -> bool:
        silence = time.monotonic() - self._last_heard
        return self._generating() and silence > self._settings.engine_watchdog_seconds

    # claiming

    def _should_claim(self) -> bool:
        """Claim a first group at once; a second one (to start the moment the first ends) only while every
        other device is busy too, so that an idle device is never left without the job waiting here."""
        if not (self._look_for_work and self._ready) or self._stopping.is_set():
            return False
        if self._claims.waiting:  # the database is failing: give it time
            return False
        if not self._groups:
            return True
        return len(self._groups) < PIPELINE_DEPTH and self._others_busy()

    def _dispatch(self) -> bool:
        try:
            claimed = self._queue.claim_next(
                device=self.device,
                batch_id=uuid.uuid4().hex,
                max_batch_images=self._settings.max_batch_images,
                loaded_models=self._resident | {group.model for group in self._groups.values()},
            )
        except Exception:
            log.exception(
                "claiming the next job for %s failed; trying again in %.1f s", self.device, self._claims.delay
            )
            self._claims.failed()
            return False
        self._claims.succeeded()
        if not claimed:
            return False
        ids = tuple(job.public_id for job in claimed)
        seq, self._next_seq = self._next_seq, self._next_seq + 1
        with self._lock:
            self._engine.open_group(seq)
            self._groups[seq] = _Group(seq, ids, set(ids), model_of(claimed[0]))
        # After the group is listed: a follower who comes later is told by `follow`, one already here is seen now.
        if any(self._hub.has_subscribers(public_id) for public_id in ids):
            self._engine.want_previews(seq)
        jobs = tuple(GroupJob(job.public_id, job.parameters) for job in claimed)
        self._engine.send(RunGroup(seq, jobs))
        return True

    # listening

    def _listen(self, engine: EngineHandle) -> None:
        """Handle what the engine process has said so far; notice when it has ended."""
        while True:
            message = engine.receive()
            if message is None:
                self._engine_ended()
                return
            self._last_heard = time.monotonic()
            self._handle(message)
            if not engine.has_more():
                return

    def _handle(self, message: EngineMessage) -> None:
        match message:
            case Ready(resident=resident):
                self._ready, self._restarts, self._look_for_work = True, 0, True
                self._resident = frozenset(resident)
            case Resident(models=models):
                self._resident = frozenset(models)
            case EngineBroken(details=details):
                log.error("building the engine for %s failed:\n%s", self.device, details)
            case GroupStarted(seq=seq):
                with self._lock:
                    self._groups[seq].started = True
                self._busy.set(True)
            case JobProgress(public_id=public_id, fraction=fraction, preview_png=preview):
                self._hub.publish(public_id, ProgressEvent(fraction, preview))
            case JobSucceeded(public_id=public_id, result=result):
                self._writes.record(
                    f"the result of job {public_id}", functools.partial(self._queue.finish, public_id, result)
                )
                self._job_over(public_id)
            case JobFailed(public_id=public_id, message=text):
                if message.reference:  # the member sees the reference; the details are here, under the same one
                    log.log(
                        logging.WARNING if message.expected else logging.ERROR,
                        "job %s failed (reference %s): %s",
                        public_id,
                        message.reference,
                        message.details,
                    )
                self._writes.record(
                    f"the failure of job {public_id}", functools.partial(self._queue.fail, public_id, text)
                )
                self._job_over(public_id)
            case JobCancelled(public_id=public_id):
                self._writes.record(
                    f"the cancellation of job {public_id}", functools.partial(self._queue.cancel, public_id)
                )
                self._job_over(public_id)
            case GroupCancelled(seq=seq) | GroupSkipped(seq=seq):
                # Jobs cancelled by their owners are already recorded as such; the rest were stopped for a
                # shutdown and go back in line without counting an attempt.
                self._put_back(self._drop(seq))

    def _job_over(self, public_id: str) -> None:
        with self._lock:
            for seq, group in list(self._groups.items()):
                group.unfinished.discard(public_id)
                if not group.unfinished:
                    del self._groups[seq]
                    self._look_for_work = True
        self._busy.set(self._generating())

    def _drop(self, seq: int) -> list[str]:
        self._look_for_work = True
        with self._lock:
            dropped = sorted(self._groups.pop(seq).unfinished)
        self._busy.set(self._generating())
        return dropped

    def _put_back(self, public_ids: Sequence[str]) -> None:
        if public_ids:
            self._writes.record(
                f"requeueing {', '.join(public_ids)}", functools.partial(self._queue.release, public_ids)
            )

    def _engine_ended(self) -> None:
        """The engine process exited or died: hand its jobs back and, unless stopping, start another."""
        engine, self._engine = self._engine, None
        engine.reap()
        self._ready, self._shutdown_sent, self._resident = False, False, frozenset()
        with self._lock:
            groups = list(self._groups.values())
            self._groups.clear()
        self._busy.set(False)
        interrupted = sorted(public_id for group in groups if group.started for public_id in group.unfinished)
        not_started = sorted(public_id for group in groups if not group.started for public_id in group.unfinished)
        if interrupted and self._stopping.is_set() and self._killed_for_stop:
            not_started += interrupted
        elif interrupted:
            log.warning(
                "the engine process for %s ended (exit code %s) while generating %s",
                self.device,
                engine.exit_code,
                ", ".join(interrupted),
            )
            self._writes.record(
                f"the recovery of {', '.join(interrupted)}", functools.partial(self._queue.recover, interrupted)
            )
        self._put_back(not_started)
        if not self._stopping.is_set():
            self._restarts += 1
            log.warning("restarting the engine process for %s", self.device)
