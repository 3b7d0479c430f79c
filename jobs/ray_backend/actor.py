"""The engine actor: today's engine loop (`jobs.engine_process.run_group`) on a machine of the Ray cluster.

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
from jobs.engine_process import ENGINE_NICENESS, CancelSignal, die_with_parent, run_group
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

    def ready(self) -> Stamped:
        return self._stamp(Ready(os.getpid(), self._resident))

    def run(self, shipped: ShippedGroup) -> Iterator[Stamped]:
        with self._turns:
            self._turns.wait_for(lambda: self._turn == shipped.turn)
        try:
            if self._stopping.is_set():
                yield self._stamp(GroupSkipped(shipped.group.seq))
                return
            yield from self._generate(shipped)
            if self._engine.models.names != self._resident:
                self._resident = self._engine.models.names
                yield self._stamp(Resident(self._resident))
        finally:
            with self._turns:
                self._turn += 1
                self._turns.notify_all()

    @ray.method(concurrency_group="control")
    def open_group(self, seq: int) -> None:
        self._signal.open_group(seq)

    @ray.method(concurrency_group="control")
    def cancel_job(self, seq: int, position: int) -> None:
        self._signal.cancel_job(seq, position)

    @ray.method(concurrency_group="control")
    def abort_up_to(self, seq: int) -> None:
        self._signal.abort_up_to(seq)

    @ray.method(concurrency_group="control")
    def stop(self) -> None:
        """Finish the group that runs; the ones still waiting are skipped."""
        self._stopping.set()

    def _generate(self, shipped: ShippedGroup) -> Iterator[Stamped]:
        sources = self._receive_sources(shipped)
        back = {local: original for original, local in sources.items()}
        messages: queue.SimpleQueue = queue.SimpleQueue()
        done = object()

        def work() -> None:
            try:
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs-save") as saver:
                    group = localize(shipped.group, sources)
                    run_group(
                        self._engine, group, _QueueOutbox(messages), self._signal, saver, self._folder,
                        self._settings.preview_interval,
                    )  # fmt: skip
            except BaseException as error:
                messages.put(_Failure(error))
            messages.put(done)

        threading.Thread(target=work, name="jobs-generate", daemon=True).start()
        while (message := messages.get()) is not done:
            if isinstance(message, _Failure):
                raise message.error
            yield self._stamp(self._outgoing(message, back))
        shutil.rmtree(self._folder / "sources", ignore_errors=True)

    def _receive_sources(self, shipped: ShippedGroup) -> dict[str, str]:
        """Write the shipped source images into the scratch folder: original path -> local copy."""
        local = {}
        for file in shipped.sources:
            target = self._folder / "sources" / hashlib.sha256(file.path.encode()).hexdigest() / Path(file.path).name
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
