"""The project's engine called directly, without queue or database: the bare engine time.

`run_engine_direct` runs one job per call, the way the queue runs them when batching is off;
`run_engine_batched` packs consecutive compatible jobs into one `run_batch` call, the way the
queue's worker does with MAX_BATCH_IMAGES.
"""

from __future__ import annotations

import time

from bench.workload import JobTiming, RunMeasurement
from engine.request import GenerationRequest


def warm_up_engine(engine, request: GenerationRequest) -> float:
    """Load the model and run a short job, so neither lands on the first measured job."""
    start = time.perf_counter()
    engine.run(request.model_copy(update={"steps": 2}), preview=True, on_progress=lambda progress: None)
    return time.perf_counter() - start


def _progress_recorder(timing: JobTiming, start: float):
    def on_progress(progress) -> None:
        if progress.preview is not None and timing.first_output is None:
            timing.first_output = time.perf_counter() - start

    return on_progress


def _groups(jobs: list[GenerationRequest], max_batch_images: int) -> list[list[int]]:
    """Indices of consecutive jobs sharing a compatible_key, at most `max_batch_images` images each."""
    groups: list[list[int]] = []
    for index, request in enumerate(jobs):
        last = groups[-1] if groups else None
        if (
            last is not None
            and jobs[last[0]].compatible_key() == request.compatible_key()
            and sum(jobs[i].count for i in last) + request.count <= max_batch_images
        ):
            last.append(index)
        else:
            groups.append([index])
    return groups


def run_engine_batched(
    engine, jobs: list[GenerationRequest], *, max_batch_images: int, name: str = "engine"
) -> RunMeasurement:
    """All jobs arrive at t=0 and run group after group, with previews on as in the bot."""
    warmup_s = warm_up_engine(engine, jobs[0])
    timings = [JobTiming() for _ in jobs]
    start = time.perf_counter()
    for group in _groups(jobs, max_batch_images):
        callbacks = [_progress_recorder(timings[index], start) for index in group]
        if len(group) == 1:
            engine.run(jobs[group[0]], on_progress=callbacks[0], preview=True)
        else:
            engine.run_batch([jobs[index] for index in group], on_progress=callbacks, preview=True)
        done = time.perf_counter() - start
        for index in group:
            timings[index].finished = done
    wall = time.perf_counter() - start
    return RunMeasurement(
        name,
        sum(request.count for request in jobs),
        wall,
        timings,
        {"warmup_s": warmup_s, "max_batch_images": max_batch_images},
    )
