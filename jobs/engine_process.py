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

import contextlib
import ctypes
import io
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections import ChainMap, deque
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

import cloudpickle
from pydantic import ValidationError

from engine import budgets
from engine.quiet import quiet_libraries
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
    EngineBroken,
    EngineMessage,
    GroupCancelled,
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
from jobs.settings import JobSettings

SPAWN = multiprocessing.get_context("spawn")
# Where the engine and the bot compete for a CPU core, the bot's event loop goes first: acknowledging an
# interaction within Discord's 3 s matters more than a few milliseconds of generation.
ENGINE_NICENESS = 5
# Groups whose per-job cancellations are kept; a device holds at most two groups at a time.
CANCEL_RING = 4
# One bit of a group's cancel mask per job, so a group holds at most this many jobs (MAX_BATCH_IMAGES ≤ 64).
MAX_GROUP_JOBS = 64
# Linux's prctl option that signals a process when its parent dies.
PR_SET_PDEATHSIG = 1
# Elsewhere (and as a second line on Linux), how often the engine process checks that its parent lives.
PARENT_CHECK_SECONDS = 1.0


class CancelSignal:
    """What the bot's process tells a generating engine process, in memory they share.

    The engine's main thread is busy generating and reads its pipe only between groups, so
    cancellation cannot travel over the pipe. Two things are shared instead:

    - "abort every group up to number N" (a stop that ran out of time): the engine process runs
      its groups in the order they were sent, so this stops exactly what runs, never what follows;
    - one bit per job of each recent group (a ring of CANCEL_RING slots keyed by the group's
      number): a member who cancels one job of a shared batch does not stop the others' work. The
      batch runs on and the cancelled job's images are thrown away; only when every job of the
      group is cancelled does the engine stop it early.

    The engine's cancel hook reads these at every denoising step. They are lock-free shared integers
    rather than a multiprocessing Event, whose is_set takes a lock that an engine process killed while
    holding it would leave held. Only the bot's process writes them, under its device worker's lock.
    """

    def __init__(self) -> None:
        self._abort_up_to = SPAWN.RawValue("q", -1)
        self._ring = SPAWN.RawArray("Q", CANCEL_RING * 2)  # (seq + 1, mask) per slot; 0 marks an empty slot

    # the bot's side

    def open_group(self, seq: int) -> None:
        slot = seq % CANCEL_RING
        self._ring[2 * slot + 1] = 0
        self._ring[2 * slot] = seq + 1

    def cancel_job(self, seq: int, position: int) -> None:
        slot = seq % CANCEL_RING
        if self._ring[2 * slot] == seq + 1:
            self._ring[2 * slot + 1] |= 1 << position

    def abort_up_to(self, seq: int) -> None:
        self._abort_up_to.value = max(self._abort_up_to.value, seq)

    # the engine's side

    def job_cancelled(self, seq: int, position: int) -> bool:
        slot = seq % CANCEL_RING
        return self._ring[2 * slot] == seq + 1 and bool(self._ring[2 * slot + 1] >> position & 1)

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


class _Outbox:
    """The pipe to the bot's process, shared by the generating thread and the saving thread."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

    def send(self, message: EngineMessage) -> None:
        with self._lock:
            self._connection.send(message)


def run_group(
    engine: Any,
    group: RunGroup,
    outbox: _Outbox,
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
        if update.make_preview is not None and now - last_preview.get(public_id, -preview_interval) >= preview_interval:
            png, last_preview[public_id] = preview_png(update.preview()), now
        outbox.send(JobProgress(public_id, float(update.fraction), png))

    try:
        outcomes = generate(
            engine,
            claimed,
            cancel=cancel.for_group(group.seq, len(group.jobs)),
            preview=group.preview,
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


def _report_outcome(outbox: _Outbox, public_id: str, outcome: Outcome, data_dir: Path) -> None:
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
