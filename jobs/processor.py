"""Keeps every device busy: one engine process and one feeding thread (`DeviceWorker`) per device.

An engine process that dies (killed, out of host memory, segfault) is started again; the jobs it
was running go back to the queue counting an attempt, the ones it had not started yet without.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from jobs.device_worker import DeviceWorker
from jobs.queue import JobQueue
from jobs.settings import JobSettings

log = logging.getLogger(__name__)

# After a stop times out, how long a cancelled generation gets to notice before its process is killed.
CANCEL_GRACE_SECONDS = 30.0


class ProcessorListener(Protocol):
    """Called from the feeding threads after each change is committed."""

    def started(self, public_ids: Sequence[str], device: str) -> None: ...
    def progress(self, public_id: str, fraction: float, preview: bytes | None) -> None: ...
    def finished(self, public_id: str, grid_path: str, image_paths: Sequence[str]) -> None: ...
    def failed(self, public_id: str, message: str) -> None: ...
    def cancelled(self, public_id: str) -> None: ...
    def queue_changed(self) -> None: ...
    def wants_preview(self, public_ids: Sequence[str]) -> bool: ...


def default_engine_factory(device: str) -> Any:
    from engine.engine import Engine

    return Engine(device=device)


class Processor:
    def __init__(
        self,
        queue: JobQueue,
        settings: JobSettings,
        listener: ProcessorListener,
        *,
        devices: Sequence[str],
        engine_factory: Callable[[str], Any] = default_engine_factory,
    ) -> None:
        self.queue = queue
        self.settings = settings
        self.listener = listener
        self.engine_factory = engine_factory
        self.devices = tuple(devices)
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.cancel_requested: set[str] = set()
        self.workers = [DeviceWorker(self, device) for device in self.devices]

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def wake(self) -> None:
        for worker in self.workers:
            worker.wake()

    def stop(self, timeout: float) -> None:
        """Take no new work; give running generations `timeout` seconds, then cancel them back into the queue."""
        self.stopping.set()
        self.wake()
        self._join(timeout)
        for worker in self.workers:
            worker.cancel_running()
        self._join(CANCEL_GRACE_SECONDS)
        for worker in self.workers:  # a generation that ignored the cancel: its process goes, its jobs stay queued
            worker.kill_for_stop()
        self._join(None)

    def _join(self, timeout: float | None) -> None:
        for worker in self.workers:
            worker.thread.join(timeout)

    def request_cancel(self, public_id: str) -> bool:
        """Stop a job handed to an engine process; True if this process has it."""
        with self.lock:
            for worker in self.workers:
                group = next((group for group in worker.groups.values() if public_id in group.unfinished), None)
                if group is not None:
                    self.cancel_requested.add(public_id)
                    if group.started:
                        worker.cancel.cancel(group.seq)
                    return True
        return False

    def fail(self, public_id: str, message: str) -> None:
        if self.queue.fail(public_id, message):
            self.listener.failed(public_id, message)
            self.listener.queue_changed()

    def recover(self, public_ids: Sequence[str]) -> None:
        """Jobs whose engine process died: cancelled if their owner asked, else back in line (counting an attempt)."""
        with self.lock:
            cancelled = self.cancel_requested.intersection(public_ids)
            self.cancel_requested.difference_update(public_ids)
        for public_id in cancelled:
            if self.queue.mark_cancelled(public_id):
                self.listener.cancelled(public_id)
        failed = self.queue.recover(self.settings.max_attempts, [i for i in public_ids if i not in cancelled])
        for public_id, message in failed:
            self.listener.failed(public_id, message)

    def after_cancel(self, ids: Sequence[str]) -> None:
        with self.lock:
            requested = self.cancel_requested.intersection(ids)
            self.cancel_requested.difference_update(ids)
        for public_id in ids:
            if public_id in requested:
                if self.queue.mark_cancelled(public_id):
                    self.listener.cancelled(public_id)
            else:  # stopped for shutdown or because a batch mate was cancelled: its turn comes again
                self.queue.release(public_id)
        self.listener.queue_changed()
        self.wake()
