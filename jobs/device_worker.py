"""One device: its engine process, the groups handed to it, and the thread that feeds it.

The feeding thread claims the next job (or batch of compatible jobs) while the engine process is
still generating the previous one, and records each finished job (images and status, one
transaction) while the engine already runs the next, so the engine never waits on the database.
It is the only thread that talks to its engine process, so the bot's event loop never does.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import uuid
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import TYPE_CHECKING, Any

from jobs.engine_process import CancelSignal, EngineProcess
from jobs.messages import (
    EngineBroken,
    GroupCancelled,
    GroupJob,
    GroupSkipped,
    GroupStarted,
    JobFailed,
    JobProgress,
    JobSucceeded,
    Ready,
    RunGroup,
    Shutdown,
)

if TYPE_CHECKING:
    from jobs.processor import Processor

log = logging.getLogger(__name__)

# How often an idle device looks for jobs submitted by another process (in-process submits wake it at once).
POLL_SECONDS = 0.5
# Groups handed to one engine process at a time: the one it runs and the one it starts next.
PIPELINE_DEPTH = 2
# The first restart of a dead engine process waits this long; each further one twice as long (at most a minute).
RESTART_BACKOFF_SECONDS = 0.5


@dataclass
class _Group:
    seq: int
    unfinished: list[str]
    started: bool = False


class DeviceWorker:
    """A device: its engine process, the groups handed to it, and the thread that feeds it."""

    def __init__(self, processor: Processor, device: str) -> None:
        self.processor = processor
        self.device = device
        self.cancel = CancelSignal()
        self.engine: EngineProcess | None = None
        self.ready = False
        self.groups: dict[int, _Group] = {}
        """Handed to the engine process and not yet over, oldest first; changed under the processor's lock."""
        self.restarts = 0
        self.killed_for_stop = False
        self._next_seq = 0
        self._shutdown_sent = False
        self._look_for_work = True
        """Set when a claim may find something: a wake-up, a poll interval gone by, a group over, a new engine."""
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_write.setblocking(False)
        self.thread = threading.Thread(target=self._main, name=f"jobs-device-{device}", daemon=True)

    def start(self) -> None:
        self.engine = self._spawn()  # here, so an engine factory that cannot be pickled fails JobService.start()
        self.thread.start()

    def wake(self) -> None:
        # a full buffer: wake-ups are already pending; closed: the thread has ended
        with contextlib.suppress(OSError):
            self._wake_write.send(b"\0")

    def cancel_running(self) -> None:
        """At a stop that timed out: cancel whatever group the engine process is running."""
        with self.processor.lock:
            self.cancel.cancel(self._next_seq - 1)

    def kill_for_stop(self) -> None:
        self.killed_for_stop = True
        engine = self.engine
        if engine is not None:
            engine.kill()

    def _spawn(self) -> EngineProcess:
        return EngineProcess(self.device, self.processor.engine_factory, self.processor.settings, self.cancel)

    def _main(self) -> None:
        failures = 0
        try:
            while True:
                try:
                    if not self._step():
                        return
                    failures = 0
                except Exception:  # the database went away for a moment, say: the engine process keeps its work
                    failures += 1
                    log.exception("feeding the engine for %s failed", self.device)
                    self.processor.stopping.wait(min(RESTART_BACKOFF_SECONDS * 2**failures, 60.0))
        finally:
            self._wake_read.close()
            self._wake_write.close()

    def _step(self) -> bool:
        """One round of feeding and listening; False once stopped and the engine process has ended."""
        processor = self.processor
        if self.engine is None:
            if processor.stopping.is_set():
                return False
            backoff = min(RESTART_BACKOFF_SECONDS * 2 ** (self.restarts - 1), 60.0)
            if not processor.stopping.wait(backoff):  # a device that keeps failing is retried ever more slowly
                self.engine = self._spawn()
            return True
        if processor.stopping.is_set() and not self._shutdown_sent:
            self._shutdown_sent = True
            if self.groups:
                self.engine.send(Shutdown())
            else:
                self.engine.kill()
        if self._look_for_work and self.ready and not processor.stopping.is_set() and self._may_claim():
            self._look_for_work = self._dispatch()
            if self._look_for_work:
                return True
        engine = self.engine
        ready = wait([engine.connection, engine.process.sentinel, self._wake_read], POLL_SECONDS)
        if self._wake_read in ready or not ready:  # a submit here, or time to look for another process's
            self._look_for_work = True
        if self._wake_read in ready:
            self._wake_read.recv(4096)
        if engine.connection in ready or engine.process.sentinel in ready:
            self._listen(engine)
        return True

    def _may_claim(self) -> bool:
        """Claim a first group at once; a second one (to start the moment the first ends) only while every
        other device is busy too, so that an idle device is never left without the job waiting here."""
        if not self.groups:
            return True
        others_busy = all(other.groups for other in self.processor.workers if other is not self)
        return len(self.groups) < PIPELINE_DEPTH and others_busy

    def _dispatch(self) -> bool:
        processor = self.processor
        claimed = processor.queue.claim_next(
            device=self.device, batch_id=uuid.uuid4().hex, max_batch_images=processor.settings.max_batch_images
        )
        if not claimed:
            return False
        ids = [job.public_id for job in claimed]
        seq, self._next_seq = self._next_seq, self._next_seq + 1
        with processor.lock:
            self.groups[seq] = _Group(seq, ids)
        processor.listener.queue_changed()
        jobs = tuple(GroupJob(job.public_id, job.parameters) for job in claimed)
        self.engine.send(RunGroup(seq, jobs, preview=processor.listener.wants_preview(ids)))
        return True

    def _listen(self, engine: EngineProcess) -> None:
        """Handle what the engine process has said so far; notice when it has ended."""
        while True:
            message = engine.receive()
            if message is None:
                self._engine_ended()
                return
            self._handle(message)
            if not engine.connection.poll():
                return

    def _handle(self, message: Any) -> None:
        processor = self.processor
        match message:
            case Ready():
                self.ready = True
                self.restarts = 0
                self._look_for_work = True
            case EngineBroken(details=details):
                log.error("building the engine for %s failed:\n%s", self.device, details)
            case GroupStarted(seq=seq):
                self._group_started(seq)
            case JobProgress(public_id=public_id, fraction=fraction, preview_png=preview):
                processor.listener.progress(public_id, fraction, preview)
            case JobSucceeded():
                if processor.queue.finish(
                    message.public_id,
                    parameters=message.parameters,
                    grid_path=message.grid_path,
                    images=message.images,
                    model=message.model,
                    batch_images=message.batch_images,
                ):
                    processor.listener.finished(
                        message.public_id, message.grid_path, [image.path for image in message.images]
                    )
                self._job_over(message.public_id)
            case JobFailed(public_id=public_id, message=text):
                processor.fail(public_id, text)
                self._job_over(public_id)
            case GroupCancelled(seq=seq):
                processor.after_cancel(self._drop(seq))
            case GroupSkipped(seq=seq):
                for public_id in self._drop(seq):
                    processor.queue.release(public_id)
                processor.listener.queue_changed()

    def _group_started(self, seq: int) -> None:
        processor = self.processor
        with processor.lock:
            group = self.groups[seq]
            group.started = True
            if processor.cancel_requested.intersection(group.unfinished):  # cancelled while it waited its turn
                self.cancel.cancel(seq)
        processor.listener.started(group.unfinished, self.device)

    def _job_over(self, public_id: str) -> None:
        with self.processor.lock:
            for seq, group in list(self.groups.items()):
                if public_id in group.unfinished:
                    group.unfinished.remove(public_id)
                    if not group.unfinished:
                        del self.groups[seq]
                        self._look_for_work = True
            self.processor.cancel_requested.discard(public_id)

    def _drop(self, seq: int) -> list[str]:
        self._look_for_work = True
        with self.processor.lock:
            return self.groups.pop(seq).unfinished

    def _engine_ended(self) -> None:
        """The engine process exited or died: hand its jobs back and, unless stopping, start another."""
        processor = self.processor
        engine, self.engine = self.engine, None
        engine.reap()
        self.ready, self._shutdown_sent = False, False
        with processor.lock:
            groups = list(self.groups.values())
            self.groups.clear()
        interrupted = [public_id for group in groups if group.started for public_id in group.unfinished]
        not_started = [public_id for group in groups if not group.started for public_id in group.unfinished]
        if interrupted and processor.stopping.is_set() and self.killed_for_stop:
            not_started += interrupted
        elif interrupted:
            log.warning(
                "the engine process for %s ended (exit code %s) while generating %s",
                self.device,
                engine.process.exitcode,
                ", ".join(interrupted),
            )
            processor.recover(interrupted)
        for public_id in not_started:
            processor.queue.release(public_id)
        if groups:
            processor.listener.queue_changed()
        if not processor.stopping.is_set():
            self.restarts += 1
            log.warning("restarting the engine process for %s", self.device)
