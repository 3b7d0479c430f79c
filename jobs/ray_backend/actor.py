"""The engine actor: the engine loop (`jobs.group_runner.run_group`) on a machine of the Ray cluster.

One actor per GPU, pinned to its node. Groups arrive as calls of `run`, a streaming generator that yields
what an engine process would send over its pipe, stamped with the actor's incarnation. Two groups may be
in flight (the one running and the next), so the default concurrency group has two threads and `run`
waits its turn; cancel, abort and stop are served on a concurrency group of their own while a group runs.
The actor saves images into a scratch folder and ships them back as bytes (`jobs.ray_backend.shipping`).
It is owned by the bot's process: when that dies, Ray ends it (measured in docs/queue.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from engine import budgets
from engine.quiet import quiet_libraries
from jobs.group_runner import ENGINE_NICENESS, CancelSignal, die_with_parent, run_group
from jobs.messages import EngineMessage, GroupSkipped, JobSucceeded, Ready, Resident
from jobs.ray_backend.shipping import ShippedGroup, ShippedResult, Stamped, localize, pack_result, swap_sources

# The group that runs and the one handed over to start the moment it ends (the device worker's pipeline).
RUN_THREADS = 2


@dataclass(frozen=True)
class ActorSettings:
    incarnation: str
    preview_interval: float
    warm_up_batches: tuple[int, ...]
    threads: int | None
    """torch's thread count, when the bot's process set one (the tests do)."""


class _Failure:
    """What the generating thread raised: re-raised on the stream, so the bot sees the actor fail the group."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


# Put on a group's stream by the saver after its last result: the stream ends there.
_DONE = object()


class _QueueOutbox:
    """`run_group`'s outbox: messages go into a queue the streaming generator yields from."""

    def __init__(self, messages: queue.SimpleQueue) -> None:
        self._messages = messages

    def send(self, message: EngineMessage) -> None:
        self._messages.put(message)


@ray.remote(max_concurrency=RUN_THREADS, concurrency_groups={"control": 1})
class EngineActor:
    def __init__(self, device: str, factory: Callable[[str], Any], settings: ActorSettings) -> None:
        # Its parent is the node's raylet: a node that comes back from a pause after being declared dead ends its
        # raylet, and without this the engine would live on holding the GPU (measured, docs/queue.md).
        die_with_parent(os.getppid())
        # As in an engine process: nothing a job asks for may reach the network. Each machine fetches the
        # registered models before it joins (`python -m engine.prefetch`, README); set before the engine's
        # libraries are imported, which read it once.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.nice(ENGINE_NICENESS)  # the node's raylet and its heartbeats go first
        quiet_libraries()
        if settings.threads is not None:
            import torch

            torch.set_num_threads(settings.threads)
        self._settings = settings
        self._signal = CancelSignal()
        self._stopping = threading.Event()
        self._turn = 0
        self._turns = threading.Condition()
        self._folder = Path(tempfile.mkdtemp(prefix="imagine-engine-"))
        self._engine = factory(device)
        self._engine.warm_up(batch_sizes=settings.warm_up_batches)
        budgets.limit_decoded_pixels(self._engine.settings.max_pixels, self._engine.settings.upscale_budget)
        self._resident = self._engine.models.names
        # One thread for the actor's life: a group's images are saved while the next group generates.
        self._saver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs-save")

    def ready(self) -> Stamped:
        return self._stamp(Ready(os.getpid(), self._resident))

    def run(self, shipped: ShippedGroup) -> Iterator[Stamped]:
        """Wait for this group's turn, generate it, and stream what it says until its last image is saved. The
        turn passes on as soon as generating ends, so the next group generates while this one's images are
        saved and shipped, as in an engine process."""
        with self._turns:
            self._turns.wait_for(lambda: self._turn == shipped.turn)
        if self._stopping.is_set():
            self._next_turn()
            yield self._stamp(GroupSkipped(shipped.group.seq))
            return
        messages: queue.SimpleQueue = queue.SimpleQueue()
        try:
            sources = self._receive_sources(shipped)
            threading.Thread(target=self._work, args=(shipped, sources, messages), name="jobs-generate").start()
        except BaseException:
            self._next_turn()
            raise
        back = {local: original for original, local in sources.items()}
        while (message := messages.get()) is not _DONE:
            if isinstance(message, _Failure):
                raise message.error
            yield self._stamp(self._outgoing(message, back))

    @ray.method(concurrency_group="control")
    def open_group(self, seq: int) -> None:
        self._signal.open_group(seq)

    @ray.method(concurrency_group="control")
    def cancel_job(self, seq: int, position: int) -> None:
        self._signal.cancel_job(seq, position)

    @ray.method(concurrency_group="control")
    def want_previews(self, seq: int) -> None:
        self._signal.want_previews(seq)

    @ray.method(concurrency_group="control")
    def abort_up_to(self, seq: int) -> None:
        self._signal.abort_up_to(seq)

    @ray.method(concurrency_group="control")
    def stop(self) -> None:
        """Finish the group that runs; the ones still waiting are skipped."""
        self._stopping.set()

    def _work(self, shipped: ShippedGroup, sources: dict[str, str], messages: queue.SimpleQueue) -> None:
        """The generating thread. What ends the stream goes through the saver after this group's images, whose
        one thread keeps every result in the order its group ran."""
        ending: list[Any] = []
        try:
            group = localize(shipped.group, sources)
            outbox = _QueueOutbox(messages)
            interval = self._settings.preview_interval
            run_group(self._engine, group, outbox, self._signal, self._saver, self._folder, interval)
            if self._engine.models.names != self._resident:
                self._resident = self._engine.models.names
                ending.append(Resident(self._resident))
        except BaseException as error:
            ending.append(_Failure(error))
        finally:
            shutil.rmtree(self._sources_folder(shipped), ignore_errors=True)
            self._next_turn()
        for message in [*ending, _DONE]:
            self._saver.submit(messages.put, message)

    def _next_turn(self) -> None:
        with self._turns:
            self._turn += 1
            self._turns.notify_all()

    def _sources_folder(self, shipped: ShippedGroup) -> Path:
        """One per group: the next group's sources arrive while this one's images are still being saved."""
        return self._folder / "sources" / str(shipped.turn)

    def _receive_sources(self, shipped: ShippedGroup) -> dict[str, str]:
        """Write the shipped source images into the scratch folder: original path -> local copy."""
        local, folder = {}, self._sources_folder(shipped)
        for file in shipped.sources:
            target = folder / hashlib.sha256(file.path.encode()).hexdigest() / Path(file.path).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.data)
            local[file.path] = str(target)
        return local

    def _outgoing(self, message: EngineMessage, back: dict[str, str]) -> EngineMessage | ShippedResult:
        if not isinstance(message, JobSucceeded):
            return message
        result = dataclasses.replace(message.result, parameters=swap_sources(message.result.parameters, back))
        shipped = pack_result(message.public_id, result, self._folder)
        shutil.rmtree(self._folder / "images" / message.public_id, ignore_errors=True)
        return shipped

    def _stamp(self, message: Any) -> Stamped:
        return Stamped(self._settings.incarnation, message)
