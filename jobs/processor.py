"""Keeps every device busy: a supervisor over one `DeviceWorker` (engine + feeding thread) per device.

It starts the workers, wakes them when a job arrives, routes a cancel to the worker holding the job,
and stops them gracefully. Everything about a job's life happens in the workers and the queue.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import Any

from jobs.device_worker import DeviceWorker
from jobs.engine_handle import Device
from jobs.events import EventHub
from jobs.queue import JobQueue
from jobs.settings import JobSettings

# After a stop times out, how long a cancelled generation gets to notice before its process is killed.
CANCEL_GRACE_SECONDS = 30.0


def default_engine_factory(device: str) -> Any:
    from engine.engine import Engine

    return Engine(device=device)


class Processor:
    def __init__(
        self,
        queue: JobQueue,
        hub: EventHub,
        settings: JobSettings,
        *,
        engines: Sequence[Device],
    ) -> None:
        """`engines`: each device and what starts its engine (`LocalEngines`, or the Ray backend's)."""
        self._queue = queue
        self._hub = hub
        self._settings = settings
        self.devices = tuple(device.name for device in engines)
        self.stopping = threading.Event()
        self.workers = [self._worker(index, device) for index, device in enumerate(engines)]

    def _worker(self, index: int, device: Device) -> DeviceWorker:
        return DeviceWorker(
            device.name,
            queue=self._queue,
            hub=self._hub,
            settings=self._settings,
            start_engine=device.start_engine,
            stopping=threading.Event(),
            others_busy=functools.partial(self._others_busy, index),
        )

    def add(self, device: Device) -> None:
        """A device that appeared while running (a machine joined the cluster): its worker starts at once. Called
        from one thread at a time; the others only iterate `workers`, which appending leaves valid."""
        if self.stopping.is_set():
            return
        worker = self._worker(len(self.workers), device)
        self.workers.append(worker)
        self.devices += (device.name,)
        worker.start()

    def retire(self, name: str) -> None:
        """A device whose machine left the cluster: its worker takes no more work, hands back what it held (a
        job it was generating counts an attempt, as after any engine death) and ends. It is no longer listed."""
        for worker in self.workers:
            if worker.device == name:
                worker.retire()
        self.devices = tuple(device for device in self.devices if device != name)

    @property
    def serving(self) -> list[DeviceWorker]:
        """The workers of the devices still there (not retired)."""
        return [worker for worker in self.workers if not worker.retired]

    def _others_busy(self, index: int) -> bool:
        return all(worker.busy for other, worker in enumerate(self.workers) if other != index and not worker.retired)

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def wake(self) -> None:
        for worker in self.workers:
            worker.wake()

    def cancel(self, public_id: str) -> bool:
        """Tell the engine generating this job to drop it; True if one of this process's devices holds it."""
        return any(worker.cancel(public_id) for worker in self.workers)

    def follow(self, public_id: str) -> None:
        """Someone started following this job: the device holding it, if any, sends its previews from now on."""
        for worker in self.workers:
            worker.follow(public_id)

    def stop(self, timeout: float) -> None:
        """Take no new work; give running generations `timeout` seconds, then cancel them back into the queue."""
        self.stopping.set()
        for worker in self.workers:
            worker.stop_taking_work()
        self._join(timeout)
        for worker in self.workers:
            worker.abort_running()
        self._join(CANCEL_GRACE_SECONDS)
        for worker in self.workers:  # a generation that ignored the cancel: its process goes, its jobs stay queued
            worker.kill_for_stop()
        self._join(None)

    def _join(self, timeout: float | None) -> None:
        for worker in self.workers:
            worker.thread.join(timeout)
