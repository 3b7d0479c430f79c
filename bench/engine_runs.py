"""The project's engine called directly, without queue or database: the bare engine time.

`run_engine_direct` runs one job per call, the way the queue runs them when batching is off;
`run_engine_batched` packs compatible jobs into one `run_batch` call with the queue's own grouping
rule (`jobs.batching.pick_group`), the way the queue's worker does with MAX_BATCH_IMAGES.
"""

from __future__ import annotations

import time

from bench.workload import JobTiming, RunMeasurement
from engine.request import GenerationRequest
from jobs.batching import pick_group
from jobs.settings import JobSettings

PREVIEW_INTERVAL = JobSettings.model_fields["preview_interval"].default


def warm_up_engine(engine, request: GenerationRequest) -> float:
    """Load the model and run a short job, so neither lands on the first measured job."""
    start = time.perf_counter()
    engine.run(request.model_copy(update={"steps": 2}), preview=True, on_progress=lambda progress: None)
    return time.perf_counter() - start


def _progress_recorder(timing: JobTiming, start: float):
    """Renders previews as the queue's engine process does (the first step, then one per PREVIEW_INTERVAL), so
    the direct runs pay for the same previews, and notes when the first one is ready."""
    rendered = []

    def on_progress(progress) -> None:
        now = time.perf_counter()
        if progress.make_preview is not None and (not rendered or now - rendered[-1] >= PREVIEW_INTERVAL):
            progress.preview()
            rendered.append(now)
            if timing.first_output is None:
                timing.first_output = time.perf_counter() - start

    return on_progress


def _groups(jobs: list[GenerationRequest], max_batch_images: int) -> list[list[int]]:
    """Indices of the jobs each UNet batch runs, grouped by the queue's own rule (`jobs.batching`)."""
    groups: list[list[int]] = []
    remaining = list(range(len(jobs)))
    while remaining:
        picked = pick_group([jobs[index] for index in remaining], max_batch_images)
        groups.append([remaining[position] for position in picked])
        remaining = [index for position, index in enumerate(remaining) if position not in picked]
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
