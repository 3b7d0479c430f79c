"""The suites: which model, which burst of jobs, which levers; and the run that produces one result.

`cpu` (the default) measures what a CPU can tell honestly: ratios (engine vs naive, queue
overhead, batching) and the Discord acknowledgement latency, on the embedded tiny model.
`gpu` is the same harness on SD 1.5 (or SDXL, FLUX.1, SD3.5 Large) with every lever but the opt-in ones,
meant for an H100/H200. `smoke` is the tiny configuration the test suite runs; with `--model flux-tiny` or
`sd35-tiny` it takes the transformer families' code paths on CPU-sized models.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from bench.discord_ack import imagine_ack_latency
from bench.engine_runs import run_engine_batched
from bench.finite import check_finite
from bench.flops import JobFlops, job_flops, sd15_unet_check
from bench.levers import BASELINE, GPU_ONLY, LEVERS, OPT_IN, skip_reason
from bench.models import job_shape, model_folder
from bench.naive import build_pipeline, run_naive
from bench.peak import PeakMatmul, measure_peak
from bench.queue_runs import run_through_queue
from bench.workload import RunMeasurement, Workload
from engine.engine import Engine
from engine.families import family_for
from engine.settings import EngineSettings

log = logging.getLogger(__name__)

PARTS = ("runs", "ack", "levers")
"""runs: naive vs engine vs queue on the burst; ack: /imagine acknowledgement latency; levers: one switch at a time."""


@dataclass(frozen=True)
class Suite:
    name: str
    model: str
    device: str
    workload: Workload
    levers: tuple[str, ...]
    lever_jobs: int
    """Jobs of the burst each lever runs (levers are compared with each other on this slice)."""
    ack_users: int
    max_batch_images: int = 16
    parts: tuple[str, ...] = ("runs", "ack", "levers")
    repeats: int = 1
    """Rounds of every run; the fastest round of each is kept (on a shared machine, the least disturbed)."""

    def as_dict(self) -> dict:
        return asdict(self)


SUITES = {
    "smoke": Suite(
        "smoke",
        "default",
        "cpu",
        Workload(users=2, jobs_per_user=1, steps=2),
        ("baseline", "batch4"),
        lever_jobs=2,
        ack_users=3,
    ),
    "cpu": Suite(
        "cpu",
        "default",
        "cpu",
        Workload(users=4, jobs_per_user=3, steps=8),
        tuple(name for name in LEVERS if name not in GPU_ONLY),
        lever_jobs=4,
        ack_users=50,
        repeats=3,
    ),
    "gpu": Suite(
        "gpu",
        "sd15",
        "cuda",
        Workload(users=4, jobs_per_user=4, steps=25),
        tuple(name for name in LEVERS if name not in OPT_IN),
        lever_jobs=4,
        ack_users=50,
    ),
}


def _best_of(repeats: int, run: Callable[[], RunMeasurement]) -> RunMeasurement:
    return min((run() for _ in range(repeats)), key=lambda measurement: measurement.wall_s)


def _interleaved(repeats: int, runners: dict[str, Callable[[], RunMeasurement]]) -> dict[str, RunMeasurement]:
    """Each round runs every runner once, and each runner keeps its fastest round: a slow spell of a
    shared machine then hits all runners alike instead of one of them. Between runners the device's cached
    blocks are handed back: the queue's engine process cannot use this process's cache, and with FLUX.1 at
    16 images per batch one runner's cache would leave the next too little memory."""
    best: dict[str, RunMeasurement] = {}
    for _ in range(repeats):
        for name, run in runners.items():
            measurement = run()
            _free_memory()
            if name not in best or measurement.wall_s < best[name].wall_s:
                best[name] = measurement
    return best


def _free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _with_rates(measurement: RunMeasurement, flops: JobFlops, peak: PeakMatmul) -> dict:
    """The run's summary plus model FLOP/s and MFU (model FLOPs ÷ time ÷ the measured matmul peak)."""
    summary = measurement.summary()
    tflops = flops.total * summary["jobs_finished"] / measurement.wall_s / 1e12
    return summary | {"model_tflop_per_s": tflops, "mfu": tflops / peak.tflops}


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _levers(suite: Suite, folder: Path, device: torch.device, requests, flops, peak) -> dict:
    """Each lever runs in rounds alternating with the plain pipeline, and its speedup is taken
    against those adjacent baseline runs, so machine drift between levers cancels out. A lever that would
    change nothing on this model (bf16 where the docs' dtype is bf16 already, say) is skipped, with the reason."""
    reference = build_pipeline(folder, BASELINE, device)
    family = family_for(reference)
    results = {}
    for name in suite.levers:
        options = LEVERS[name]
        reason = skip_reason(options, family, device)
        if reason is not None:
            results[name] = {"name": name, "skipped": reason}
            continue
        pipe = None
        try:
            if options == BASELINE:
                measurement = _best_of(suite.repeats, functools.partial(run_naive, reference, requests, BASELINE, name))
                results[name] = _with_rates(measurement, flops, peak) | {"speedup_vs_baseline": 1.0}
                continue
            pipe = build_pipeline(folder, options, device)
            pair = _interleaved(
                suite.repeats,
                {
                    "baseline": functools.partial(run_naive, reference, requests, BASELINE),
                    name: functools.partial(run_naive, pipe, requests, options, name),
                },
            )
            results[name] = _with_rates(pair[name], flops, peak) | {
                "paired_baseline_wall_s": pair["baseline"].wall_s,
                "speedup_vs_baseline": pair["baseline"].wall_s / pair[name].wall_s,
            }
        except Exception as error:  # one lever failing (e.g. torch.compile on this platform) must not lose the rest
            log.exception("lever %s failed", name)
            results[name] = {"name": name, "error": f"{type(error).__name__}: {error}"}
        finally:
            pipe = None
            _free_memory()
    return results


def _comparisons(runs: dict, flops: JobFlops, peak: PeakMatmul, jobs: int) -> dict:
    naive, direct, direct_batched = runs["naive"], runs["engine_direct"], runs["engine_direct_batched"]
    queue, queue_batched = runs["queue"], runs["queue_batched"]
    floor_s = flops.total / (peak.tflops * 1e12)
    return {
        "engine_vs_naive_images_per_s": _ratio(queue_batched["images_per_s"], naive["images_per_s"]),
        "engine_vs_naive_p50_latency": _ratio(
            naive["latency_to_grid_s"]["p50"], queue_batched["latency_to_grid_s"]["p50"]
        ),
        "queue_overhead_wall": _ratio(queue["wall_s"], direct["wall_s"]),
        "queue_overhead_per_job_s": (queue["wall_s"] - direct["wall_s"]) / jobs,
        "batching_through_queue_images_per_s": _ratio(queue_batched["images_per_s"], queue["images_per_s"]),
        "batching_engine_direct_images_per_s": _ratio(direct_batched["images_per_s"], direct["images_per_s"]),
        "job_floor_s": floor_s,
        "served_job_s_vs_floor": _ratio(queue_batched["wall_s"] / jobs, floor_s),
    }


def _measure_runs(suite: Suite, pipe, engine, jobs, flops: JobFlops, peak: PeakMatmul) -> dict:
    requests = [request for _, request in jobs]
    one_job, batched = suite.workload.images_per_job, suite.max_batch_images
    measured = _interleaved(
        suite.repeats,
        {
            "naive": lambda: run_naive(pipe, requests, BASELINE),
            "engine_direct": lambda: run_engine_batched(
                engine, requests, max_batch_images=one_job, name="engine_direct"
            ),
            "engine_direct_batched": lambda: run_engine_batched(
                engine, requests, max_batch_images=batched, name="engine_direct_batched"
            ),
            "queue": lambda: asyncio.run(run_through_queue(engine, jobs, max_batch_images=one_job, name="queue")),
            "queue_batched": lambda: asyncio.run(
                run_through_queue(engine, jobs, max_batch_images=batched, name="queue_batched")
            ),
        },
    )
    runs = {name: _with_rates(measurement, flops, peak) for name, measurement in measured.items()}
    return {"runs": runs, "comparisons": _comparisons(runs, flops, peak, len(jobs))}


def run_suite(suite: Suite, cache_dir: Path) -> dict:
    """Run the suite's parts and return the result document (without environment fields)."""
    device = torch.device(suite.device)
    peak = measure_peak(device)
    folder = model_folder(suite.model, cache_dir)
    workload = suite.workload
    pipe = build_pipeline(folder, BASELINE, device)
    shape = job_shape(suite.model, pipe, workload.guidance)
    resolution = shape.resolution
    check_finite(pipe, resolution)
    flops = job_flops(
        pipe, resolution, guidance_batch=shape.guidance_batch, images=workload.images_per_job, steps=workload.steps
    )
    jobs = workload.jobs(resolution, shape.guidance)
    document = {
        "suite": suite.as_dict(),
        "model": {"name": suite.model, "family": family_for(pipe).label, **asdict(shape)},
        "peak_matmul": peak.as_dict(),
        "flops": {"job": flops.as_dict(), "sd15_unet_check": sd15_unet_check()},
    }
    if "runs" in suite.parts or "ack" in suite.parts:
        engine = Engine(
            EngineSettings(
                _env_file=None,
                model_id=str(folder),
                data_dir=cache_dir,
                default_steps=workload.steps,
                max_pixels=resolution * resolution,
            ),
            device=suite.device,
        )
        if "runs" in suite.parts:
            document |= _measure_runs(suite, pipe, engine, jobs, flops, peak)
        pipe = None
        _free_memory()
        if "ack" in suite.parts:
            document["discord_ack"] = asyncio.run(imagine_ack_latency(engine, users=suite.ack_users))
        engine = None
    pipe = None
    _free_memory()
    if "levers" in suite.parts:
        requests = [request for _, request in jobs[: suite.lever_jobs]]
        document["levers"] = _levers(suite, folder, device, requests, flops, peak)
    return document


def customised(suite: Suite, **overrides) -> Suite:
    """The suite with the command line's overrides (None means keep the suite's value)."""
    workload_fields = {"users", "jobs_per_user", "steps"}
    workload = replace(
        suite.workload,
        **{key: value for key, value in overrides.items() if key in workload_fields and value is not None},
    )
    rest = {key: value for key, value in overrides.items() if key not in workload_fields and value is not None}
    return replace(suite, workload=workload, **rest)
