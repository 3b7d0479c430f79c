"""The same burst of jobs through the real queue: JobService on a real SQLite database.

Every simulated user submits at once (as a busy channel would) and follows its job's event
stream like the bot does; a job's latency runs from the burst to its Finished event, and to
its first ProgressEvent carrying a preview. The queue's engine process builds an engine with the
same settings as the direct runs and is warmed by one job before the burst, so the difference to
the direct run is the queue's own cost: DB commits, PNG encoding of previews and results, event
delivery, the hop between processes.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
import time
from pathlib import Path

from bench.workload import JobTiming, RunMeasurement
from engine.engine import Engine
from engine.request import GenerationRequest
from jobs import Failed, Finished, JobKind, JobService, JobSettings, ProgressEvent


class JobFailed(RuntimeError):
    """A benchmark job did not finish; its measurement would be meaningless."""


async def _follow(
    service: JobService, user_id: int, request: GenerationRequest, timing: JobTiming, start: float
) -> None:
    view = await service.submit(request, kind=JobKind.IMAGINE, user_id=user_id, raw_prompt=request.prompt)
    async for event in service.events(view.public_id):
        now = time.perf_counter() - start
        if isinstance(event, ProgressEvent) and event.preview_png is not None and timing.first_output is None:
            timing.first_output = now
        elif isinstance(event, Finished):
            timing.finished = now
        elif isinstance(event, Failed):
            raise JobFailed(f"job {view.public_id} failed: {event.message}")


async def run_through_queue(
    engine, jobs: list[tuple[int, GenerationRequest]], *, max_batch_images: int, name: str = "queue"
) -> RunMeasurement:
    """All users submit at t=0 to a fresh JobService whose one engine process is built like `engine`."""
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as folder:
        data_dir = Path(folder)
        settings = JobSettings(
            database_url=f"sqlite:///{data_dir / 'bench.db'}",
            data_dir=data_dir,
            engine_devices=(str(engine.device),),
            max_batch_images=max_batch_images,
            max_queued_per_user=len(jobs),
            max_running_per_user=len(jobs),
            max_queue_length=len(jobs) + 1,
        )
        service = JobService(settings, engine_factory=functools.partial(Engine, engine.settings))
        await service.start()
        try:
            warm_user, warm_request = jobs[0]
            await _follow(
                service, warm_user, warm_request.model_copy(update={"steps": 2}), JobTiming(), time.perf_counter()
            )
            timings = [JobTiming() for _ in jobs]
            start = time.perf_counter()
            await asyncio.gather(
                *(
                    _follow(service, user, request, timing, start)
                    for (user, request), timing in zip(jobs, timings, strict=False)
                )
            )
            wall = time.perf_counter() - start
        finally:
            await service.stop()
    images = sum(request.count for _, request in jobs)
    return RunMeasurement(name, images, wall, timings, {"max_batch_images": max_batch_images})
