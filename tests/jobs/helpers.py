"""Shared helpers for the queue tests: tiny requests, waiting for events, engines that misbehave on cue."""

from __future__ import annotations

import asyncio
import functools
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from engine.engine import Engine
from engine.request import GenerationRequest
from jobs import JobService, JobSettings, ProgressEvent, Started
from jobs.events import TERMINAL_EVENTS, JobEvent

# A generous ceiling so a broken test fails instead of hanging; no assertion depends on it.
EVENT_TIMEOUT = 180


def tiny_request(prompt: str = "a red fox", *, seed: int = 1, count: int = 1) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, steps=2, seed=seed, count=count)


def engine_factory(engine_class: type[Engine], **options) -> Callable[[str], Engine]:
    """A factory the engine process can unpickle: the class is found by its module, the options go along."""
    return functools.partial(build_engine, engine_class, options)


def build_engine(engine_class: type[Engine], options: dict, device: str) -> Engine:
    return engine_class(device=device, **options)


async def until_done(service: JobService, public_id: str) -> list[JobEvent]:
    """Every event of the job, through its terminal one."""

    async def collect() -> list[JobEvent]:
        return [event async for event in service.events(public_id)]

    events = await asyncio.wait_for(collect(), EVENT_TIMEOUT)
    assert isinstance(events[-1], TERMINAL_EVENTS)
    return events


async def wait_for_start(service: JobService, public_id: str) -> None:
    async def started() -> None:
        async for event in service.events(public_id):
            if isinstance(event, Started):
                return

    await asyncio.wait_for(started(), EVENT_TIMEOUT)


async def wait_for_progress(service: JobService, public_id: str) -> None:
    """Until the engine process reports a step: it is generating the job, not just holding it for later."""

    async def progressed() -> None:
        async for event in service.events(public_id):
            if isinstance(event, ProgressEvent):
                return

    await asyncio.wait_for(progressed(), EVENT_TIMEOUT)


async def until(condition) -> None:
    """Wait for something another thread does; the ceiling only keeps a broken test from hanging."""
    deadline = time.monotonic() + EVENT_TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


async def submit_all(settings: JobSettings, users_and_prompts: list[tuple[int, str]], **request) -> list[str]:
    """Queue jobs with no worker running, so the test controls what is waiting when work starts."""
    client = JobService(settings, process_jobs=False)
    await client.start()
    ids = []
    for user_id, prompt in users_and_prompts:
        job = await client.submit(tiny_request(prompt, **request), kind="imagine", user_id=user_id, raw_prompt=prompt)
        ids.append(job.public_id)
    await client.stop()
    return ids


class GatedEngine(Engine):
    """Holds every generation after its first step until the test opens the gate; notes seeing a cancel.

    The gate is a file rather than a multiprocessing Event: a test kills this process while it waits,
    and an Event with a killed waiter hangs whoever sets it next."""

    def __init__(self, *, device: str, folder: Path) -> None:
        super().__init__(device=device)
        self.folder = folder

    def run(self, request, *, on_progress=None, cancel=None, **options):
        def hold(progress):
            if on_progress:
                on_progress(progress)
            while not (self.folder / "open").exists():
                if cancel is not None and cancel.is_set():
                    (self.folder / "cancel-seen").touch()
                time.sleep(0.01)

        return super().run(request, on_progress=hold, cancel=cancel, **options)


class Gate:
    """The test's side of GatedEngine, shared with the engine processes it is handed to through a folder."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="gate-"))

    def factory(self) -> Callable[[str], Engine]:
        return engine_factory(GatedEngine, folder=self.folder)

    def open(self) -> None:
        (self.folder / "open").touch()

    def cancel_seen(self) -> bool:
        return (self.folder / "cancel-seen").exists()

    async def next_holder(self) -> int:
        """The process id of the next TellingEngine to hold a job at the gate (taken, so the one after it can
        tell its own)."""
        told = self.folder / "pid"
        await until(told.exists)
        pid = int(told.read_text())
        told.unlink()
        return pid


class TellingEngine(GatedEngine):
    """GatedEngine that leaves its process id in the gate's folder while it holds a job, for a test to kill
    an engine that runs where the test cannot see its process (an actor on a Ray node)."""

    def run(self, request, **options):
        written = self.folder / f"pid.{os.getpid()}"  # then renamed: a test never reads a half-written file
        written.write_text(str(os.getpid()))
        written.replace(self.folder / "pid")
        return super().run(request, **options)
