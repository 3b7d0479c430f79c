"""One engine process per device: the bot's side of it (`EngineProcess`) and the process itself (`serve`).

Generating in a separate process keeps the denoising loop's Python (on a GPU, its kernel-launch
loop) from competing for the bot's GIL, and lets a crash or a kill of the engine take nothing else
down. The process is started with "spawn", so it shares no threads, sockets or database
connections with the bot, and it is the only place torch is imported. It owns its Engine, runs
the groups it is sent in order, saves their images, and reports progress and results over a pipe.
Images are saved (PNG encoding, hashing) on a thread of their own while the next group generates,
so the device never waits on the encoder. It dies with the bot's process, even when that is
killed outright, so a restarted bot never shares a device with a leftover generator.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import traceback
from collections import ChainMap, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

import cloudpickle

from engine import budgets
from engine.quiet import quiet_libraries
from jobs.group_runner import ENGINE_NICENESS, SPAWN, CancelSignal, die_with_parent, run_group
from jobs.messages import (
    EngineBroken,
    EngineMessage,
    GroupSkipped,
    Ready,
    Resident,
    RunGroup,
    Shutdown,
)
from jobs.settings import JobSettings


class _FactoryPickler(cloudpickle.Pickler):
    """cloudpickle (closures by value) that also knows multiprocessing's reducers for shared memory."""

    def __init__(self, file: io.BytesIO) -> None:
        self.dispatch_table = ChainMap(ForkingPickler(io.BytesIO()).dispatch_table, cloudpickle.Pickler.dispatch_table)
        super().__init__(file)


class _PortableFactory:
    """Carries the engine factory to a spawned process even when it is a closure, as the bot's is.

    Pickled while the process is being spawned, so it may hold multiprocessing shared values."""

    def __init__(self, factory: Callable[[str], Any]) -> None:
        self.factory = factory

    def __reduce__(self):
        buffer = io.BytesIO()
        _FactoryPickler(buffer).dump(self.factory)
        return _PickledFactory, (buffer.getvalue(),)


class _PickledFactory:
    """The factory's bytes, unpickled only when the engine process asks: unpickling it imports the engine
    (diffusers, transformers), and that must wait until the process has silenced their import notes."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def load(self) -> Callable[[str], Any]:
        return cloudpickle.loads(self._data)


class EngineProcess:
    """The bot's handle on one engine process; used only by that device's worker thread, which also starts it
    (Linux ties the engine's life to the thread that started it, and this thread outlives its engine)."""

    def __init__(self, device: str, factory: Callable[[str], Any], settings: JobSettings, cancel: CancelSignal) -> None:
        ours, theirs = SPAWN.Pipe()
        self.connection: Connection = ours
        self._cancel = cancel
        # A host that configured torch (the benchmark, the tests) gets the same thread count in its engines.
        torch = sys.modules.get("torch")
        threads = torch.get_num_threads() if torch is not None else None
        self.process = SPAWN.Process(
            target=serve,
            name=f"jobs-engine-{device}",
            daemon=True,
            args=(
                device,
                _PortableFactory(factory),
                theirs,
                cancel,
                settings.data_dir,
                settings.preview_interval,
                threads,
                warm_up_batch_sizes(settings.max_batch_images),
                os.getpid(),
            ),
        )
        self.process.start()
        theirs.close()  # only the child holds its end now, so its death reads as end-of-file here

    @property
    def waitables(self) -> tuple[Connection, int]:
        return self.connection, self.process.sentinel

    @property
    def exit_code(self) -> int | None:
        return self.process.exitcode

    def send(self, message: RunGroup | Shutdown) -> bool:
        """False if the process is gone (its death is reported by `receive`)."""
        try:
            self.connection.send(message)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            return False
        return True

    def receive(self) -> EngineMessage | None:
        """The next message, or None once the process has ended."""
        try:
            return self.connection.recv()
        except (EOFError, ConnectionResetError, OSError):
            return None

    def has_more(self) -> bool:
        return self.connection.poll()

    def open_group(self, seq: int) -> None:
        self._cancel.open_group(seq)

    def cancel_job(self, seq: int, position: int) -> None:
        self._cancel.cancel_job(seq, position)

    def want_previews(self, seq: int) -> None:
        self._cancel.want_previews(seq)

    def abort_up_to(self, seq: int) -> None:
        self._cancel.abort_up_to(seq)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()

    def reap(self) -> None:
        self.process.join()
        self.connection.close()


class LocalEngines:
    """Starts a device's engine processes; they share one `CancelSignal`, so group numbers and a stop's abort
    carry over from one engine process to the next."""

    def __init__(self, device: str, factory: Callable[[str], Any], settings: JobSettings) -> None:
        self._device = device
        self._factory = factory
        self._settings = settings
        self._signal = CancelSignal()

    def __call__(self) -> EngineProcess:
        return EngineProcess(self._device, self._factory, self._settings, self._signal)


def warm_up_batch_sizes(max_batch_images: int) -> tuple[int, ...]:
    """The UNet batch sizes the queue produces: whole 4-image jobs packed up to the batching limit."""
    return tuple(range(4, max_batch_images + 1, 4)) or (max_batch_images,)


def serve(
    device: str,
    factory: _PickledFactory,
    connection: Connection,
    cancel: CancelSignal,
    data_dir: Path,
    preview_interval: float,
    threads: int | None,
    warm_up_batches: tuple[int, ...],
    parent_pid: int,
) -> None:
    """The engine process: build the engine, warm it up, then run each group in the order it arrives.

    Warming up before `Ready` keeps torch.compile's compilation (minutes, when ENGINE_COMPILE is on)
    out of the first user's job; with compilation off it costs nothing.
    """
    die_with_parent(parent_pid)
    # Registered models were downloaded at start-up (jobs.service.prefetch_models): nothing a job asks for may
    # reach the network. Set before the engine's libraries are imported, which read it once.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.nice(ENGINE_NICENESS)
    quiet_libraries()  # loading bars and import notes from every engine start would bury the bot's log
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    outbox = _Outbox(connection)
    try:
        engine = factory.load()(device)
        engine.warm_up(batch_sizes=warm_up_batches)
    except Exception:
        outbox.send(EngineBroken(traceback.format_exc()))
        raise
    budgets.limit_decoded_pixels(engine.settings.max_pixels, engine.settings.upscale_budget)
    resident = engine.models.names
    outbox.send(Ready(os.getpid(), resident))
    waiting: deque[RunGroup | Shutdown] = deque()
    # One thread: results reach the bot in the order their groups ran. Leaving the block waits for
    # the images still being saved, so a Shutdown never loses finished work.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs-save") as saver:
        while True:
            try:
                if not waiting:
                    waiting.append(connection.recv())
                while connection.poll():
                    waiting.append(connection.recv())
            except EOFError:  # the bot's process is gone; nobody would record the images
                return
            if any(isinstance(message, Shutdown) for message in waiting):
                for message in waiting:
                    if isinstance(message, RunGroup):
                        outbox.send(GroupSkipped(message.seq))
                return
            run_group(engine, waiting.popleft(), outbox, cancel, saver, data_dir, preview_interval)
            if engine.models.names != resident:
                resident = engine.models.names
                outbox.send(Resident(resident))


class _Outbox:
    """The pipe to the bot's process, shared by the generating thread and the saving thread."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

    def send(self, message: EngineMessage) -> None:
        with self._lock:
            self._connection.send(message)
