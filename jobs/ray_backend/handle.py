"""The bot's handle on one engine actor (an `EngineHandle`): sends groups, pumps their streams, ships bytes.

A pump thread reads the actor's streams in the order the groups were sent and puts each message in an inbox
that the device's feeding thread reads after `multiprocessing.connection.wait` says a socket is readable, so
the feeding thread is the same as for a local engine process. Finished images are written under DATA_DIR and
checked here, on the pump thread, before the feeding thread records the job. Any error on a stream (the
actor's process killed, its node dead or unreachable) ends the handle: the actor is killed for good, so a
node that comes back cannot deliver anything more, and the feeding thread requeues its jobs exactly as
when an engine process dies. Messages stamped with another incarnation are dropped.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import threading
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import RayError

from jobs.messages import EngineBroken, EngineMessage, GroupStarted, JobFailed, JobSucceeded, RunGroup, Shutdown
from jobs.ray_backend.actor import ActorSettings, EngineActor
from jobs.ray_backend.shipping import ShippedResult, Stamped, ship_group, store_result

log = logging.getLogger(__name__)

_STOP = object()
"""On the stream queue after a Shutdown: the pump ends once the streams before it are read."""


class RayEngine:
    def __init__(
        self,
        actor_options: dict[str, Any],
        device: str,
        factory: Callable[[str], Any],
        settings: ActorSettings,
        data_dir: Path,
    ) -> None:
        self.incarnation = settings.incarnation
        self._data_dir = data_dir
        self._inbox: deque[EngineMessage | None] = deque()
        self._lock = threading.Lock()
        self._signalled = False
        self._ended = False
        self._error: str | None = None
        self._turn = 0
        self._became_ready = False
        self._killed = False
        """Killed by the device worker (a stop, the watchdog): its end is no failure to build the engine."""
        self._reading: int | None = None
        """The group whose stream the pump reads: the one the actor runs (groups run in the order sent)."""
        self._started: int | None = None
        self._streams: queue.SimpleQueue = queue.SimpleQueue()
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._actor = EngineActor.options(**actor_options).remote(device, factory, settings)
        self._pump = threading.Thread(target=self._run_pump, name=f"jobs-ray-pump-{device}", daemon=True)
        self._pump.start()

    # the EngineHandle the device worker uses

    @property
    def waitables(self) -> tuple[socket.socket]:
        return (self._read,)

    @property
    def exit_code(self) -> str | None:
        return self._error

    def send(self, message: RunGroup | Shutdown) -> bool:
        if self._ended:
            return False
        if isinstance(message, Shutdown):
            self._actor.stop.remote()
            self._streams.put(_STOP)
            return True
        shipped = ship_group(message, self._turn)
        self._turn += 1
        self._streams.put((message.seq, self._actor.run.options(num_returns="streaming").remote(shipped)))
        return True

    def receive(self) -> EngineMessage | None:
        with self._lock:
            message = self._inbox.popleft() if self._inbox else None
            if not self._inbox:
                with contextlib.suppress(BlockingIOError):
                    self._read.recv(4096)
                self._signalled = False
            return message

    def has_more(self) -> bool:
        with self._lock:
            return bool(self._inbox)

    def open_group(self, seq: int) -> None:
        self._actor.open_group.remote(seq)

    def cancel_job(self, seq: int, position: int) -> None:
        self._actor.cancel_job.remote(seq, position)

    def want_previews(self, seq: int) -> None:
        self._actor.want_previews.remote(seq)

    def abort_up_to(self, seq: int) -> None:
        self._actor.abort_up_to.remote(seq)

    def kill(self) -> None:
        self._killed = True
        with contextlib.suppress(RayError, ValueError):
            ray.kill(self._actor, no_restart=True)

    def reap(self) -> None:
        self._pump.join()
        self._read.close()
        self._write.close()

    # the pump thread

    def _run_pump(self) -> None:
        try:
            self._deliver(ray.get(self._actor.ready.remote()))
            while (item := self._streams.get()) is not _STOP:
                self._reading, stream = item
                for ref in stream:
                    self._deliver(ray.get(ref))
                self._reading = None
        except RayError as error:
            self._error = type(error).__name__
            if not self._became_ready and not self._killed:
                self._post(EngineBroken(traceback.format_exc()))
            elif self._reading is not None and self._started != self._reading:
                # A death can swallow the stream's last messages, GroupStarted among them. The group the actor
                # was on counts as started, so its jobs count an attempt: a job that kills every engine it
                # reaches still ends after MAX_ATTEMPTS, as it does with engine processes.
                self._post(GroupStarted(self._reading))
            log.warning("the engine actor %s ended: %s", self.incarnation, error)
        finally:
            self._ended = True
            self.kill()  # for good: a node that comes back must not deliver anything more
            self._post(None)

    def _deliver(self, stamped: Stamped) -> None:
        if stamped.incarnation != self.incarnation:
            log.warning("dropping a message from engine actor %s, not %s", stamped.incarnation, self.incarnation)
            return
        message = stamped.message
        self._became_ready = True
        if isinstance(message, GroupStarted):
            self._started = message.seq
        if isinstance(message, ShippedResult):
            message = self._store(message)
        self._post(message)

    def _store(self, shipped: ShippedResult) -> JobSucceeded | JobFailed:
        try:
            return store_result(shipped, self._data_dir)
        except OSError as error:
            log.exception("writing the images of %s failed", shipped.public_id)
            return JobFailed(shipped.public_id, f"The images were made but could not be saved: {error}")

    def _post(self, message: EngineMessage | None) -> None:
        with self._lock:
            self._inbox.append(message)
            if not self._signalled:
                self._signalled = True
                self._write.send(b"\0")


def new_incarnation() -> str:
    return uuid.uuid4().hex[:12]
