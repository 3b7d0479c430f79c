"""One worker thread per device, each with its own Engine, so GPU work never blocks the event loop.

A worker claims the next job in serving order, adds compatible waiting imagine jobs to the same
UNet batch (up to MAX_BATCH_IMAGES images), runs it and records each job in one transaction.
A worker thread that dies is started again and the jobs it held go back to the queue.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from engine.request import Operation
from jobs.generation import ClaimedJob, generate, preview_png, save_images, user_message
from jobs.queue import JobQueue
from jobs.settings import JobSettings

log = logging.getLogger(__name__)

# How often an idle worker looks for jobs submitted by another process (in-process submits wake it at once).
POLL_SECONDS = 0.5
# Loading a model is not thread-safe (accelerate patches torch.nn globally while it builds empty
# modules), and resolve() is where an engine loads its model, so workers resolve one at a time.
MODEL_LOADING_LOCK = threading.Lock()
# The first restart of a dead worker waits this long; each further one waits twice as long (at most a minute).
RESTART_BACKOFF_SECONDS = 0.5
# After a stop times out, how long a cancelled generation gets to notice before its jobs are requeued anyway.
CANCEL_GRACE_SECONDS = 30.0


class ProcessorListener(Protocol):
    """Called from worker threads after each change is committed."""

    def started(self, public_ids: Sequence[str], device: str) -> None: ...
    def progress(self, public_id: str, fraction: float, preview: bytes | None) -> None: ...
    def finished(self, public_id: str) -> None: ...
    def failed(self, public_id: str, message: str) -> None: ...
    def cancelled(self, public_id: str) -> None: ...
    def queue_changed(self) -> None: ...


def default_engine_factory(device: str) -> Any:
    from engine.engine import Engine

    return Engine(device=device)


class Worker:
    """A device, its engine and the thread currently driving it."""

    def __init__(self, processor: Processor, device: str) -> None:
        self.processor = processor
        self.device = device
        self.engine: Any = None
        self.current: list[ClaimedJob] = []
        self.thread: threading.Thread | None = None
        self.restarts = 0

    def start(self) -> None:
        self.thread = threading.Thread(target=self._main, name=f"jobs-worker-{self.device}", daemon=True)
        self.thread.start()

    def restart(self) -> None:
        self.restarts += 1
        self.start()

    def _main(self) -> None:
        try:
            if self.restarts:  # a device that keeps failing (driver gone, bad name) is retried ever more slowly
                self.processor.stopping.wait(min(RESTART_BACKOFF_SECONDS * 2 ** (self.restarts - 1), 60.0))
            self._loop()
        except BaseException:
            log.exception("worker for %s died", self.device)
        finally:
            self.processor.worker_exited(self)

    def _loop(self) -> None:
        processor = self.processor
        while not processor.stopping.is_set():
            if self.engine is None:
                self.engine = processor.engine_factory(self.device)
            group = self._claim()
            if not group:
                processor.work_available.wait(POLL_SECONDS)
                processor.work_available.clear()
                continue
            self.current = group
            processor.run_group(self, group)
            self.current = []

    def _claim(self) -> list[ClaimedJob]:
        processor = self.processor
        candidates = processor.queue.claimable()
        if not candidates:
            return []
        head, *rest = candidates
        try:
            head_request = self._resolve(head.request)
        except Exception as error:
            processor.fail(head.public_id, user_message(error))
            return []
        group = [ClaimedJob(head.public_id, head_request)]
        key = head_request.compatible_key()
        images = head_request.count
        for candidate in rest if key is not None else ():
            if candidate.parameters.get("operation") != Operation.IMAGINE:
                continue
            try:
                request = self._resolve(candidate.request)
            except Exception:  # it fails on its own turn, with its own message
                continue
            if request.compatible_key() == key and images + request.count <= processor.settings.max_batch_images:
                group.append(ClaimedJob(candidate.public_id, request))
                images += request.count
            if images >= processor.settings.max_batch_images:
                break
        claimed = set(processor.queue.claim([(job.public_id, job.request) for job in group],
                                            device=self.device, batch_id=uuid.uuid4().hex))
        return [job for job in group if job.public_id in claimed]

    def _resolve(self, request: Any) -> Any:
        with MODEL_LOADING_LOCK:
            return self.engine.resolve(request)


class Processor:
    def __init__(self, queue: JobQueue, settings: JobSettings, listener: ProcessorListener, *,
                 devices: Sequence[str], engine_factory: Callable[[str], Any] = default_engine_factory) -> None:
        self.queue = queue
        self.settings = settings
        self.listener = listener
        self.engine_factory = engine_factory
        self.devices = tuple(devices)
        self.stopping = threading.Event()
        self.work_available = threading.Event()
        self._lock = threading.Lock()
        self._cancel_events: dict[str, threading.Event] = {}
        self._cancel_requested: set[str] = set()
        self._workers = [Worker(self, device) for device in self.devices]

    def start(self) -> None:
        for worker in self._workers:
            worker.restart()

    def wake(self) -> None:
        self.work_available.set()

    def stop(self, timeout: float) -> None:
        """Take no new work; give running generations `timeout` seconds, then cancel them back into the queue."""
        self.stopping.set()
        self.wake()
        for worker in self._workers:
            worker.thread.join(timeout)
        with self._lock:
            for event in self._cancel_events.values():
                event.set()
        for worker in self._workers:
            worker.thread.join(CANCEL_GRACE_SECONDS)
        with self._lock:
            stuck = list(self._cancel_events)
        for public_id in stuck:  # a generation that ignored the cancel: its late result will not be recorded
            self.queue.release(public_id, count_attempt=False)

    def request_cancel(self, public_id: str) -> bool:
        """Stop a running job; True if this process is running it."""
        with self._lock:
            event = self._cancel_events.get(public_id)
            if event is None:
                return False
            self._cancel_requested.add(public_id)
            event.set()
            return True

    def fail(self, public_id: str, message: str) -> None:
        if self.queue.fail(public_id, message):
            self.listener.failed(public_id, message)
            self.listener.queue_changed()

    def worker_exited(self, worker: Worker) -> None:
        """Called by a worker thread on its way out: after a crash, hand its jobs back and start a new thread."""
        self._forget(worker.current)
        if worker.current:
            recovery = self.queue.recover(self.settings.max_attempts, [job.public_id for job in worker.current])
            for public_id, message in recovery.failed:
                self.listener.failed(public_id, message)
            self.listener.queue_changed()
            worker.current = []
        if not self.stopping.is_set():
            log.warning("restarting the worker for %s", worker.device)
            worker.restart()

    def run_group(self, worker: Worker, group: list[ClaimedJob]) -> None:
        from engine.engine import GenerationCancelled

        ids = [job.public_id for job in group]
        cancel = threading.Event()
        with self._lock:
            self._cancel_events.update(dict.fromkeys(ids, cancel))
        self.listener.started(ids, worker.device)
        self.listener.queue_changed()
        try:
            outcomes = generate(worker.engine, group, cancel=cancel, on_progress=self._progress)
        except GenerationCancelled:
            self._after_cancel(ids)
            return
        finally:
            self._forget(group)
        for public_id, outcome in outcomes.items():
            if isinstance(outcome, Exception):
                self.fail(public_id, user_message(outcome))
            else:
                self._record(public_id, outcome)

    def _record(self, public_id: str, result: Any) -> None:
        try:
            grid_path, images = save_images(result, public_id, self.settings.data_dir)
        except Exception as error:
            log.exception("saving the images of %s failed", public_id)
            self.fail(public_id, f"The images were made but could not be saved: {error}")
            return
        if self.queue.finish(public_id, grid_path=grid_path, images=images, model=result.metadata.get("model"),
                             batch_images=result.metadata["batch_size"]):
            self.listener.finished(public_id)

    def _after_cancel(self, ids: Sequence[str]) -> None:
        with self._lock:
            requested = self._cancel_requested.intersection(ids)
            self._cancel_requested.difference_update(ids)
        for public_id in ids:
            if public_id in requested:
                if self.queue.mark_cancelled(public_id):
                    self.listener.cancelled(public_id)
            else:  # stopped for shutdown or because a batch mate was cancelled: its turn comes again
                self.queue.release(public_id, count_attempt=False)
        self.listener.queue_changed()
        self.wake()

    def _forget(self, group: Sequence[ClaimedJob]) -> None:
        with self._lock:
            for job in group:
                self._cancel_events.pop(job.public_id, None)
                self._cancel_requested.discard(job.public_id)

    def _progress(self, public_id: str, update: Any) -> None:
        self.listener.progress(public_id, float(update.fraction), preview_png(update.preview))
