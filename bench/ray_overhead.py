"""Queue overhead per job and /imagine acknowledgement, local engine process vs Ray engine actor, side by side.

`python -m bench.ray_overhead [--jobs N]` runs the same N small jobs (the embedded tiny model, 2 steps, one
image each) one after another: in this process on a bare `Engine` (the floor), then through a `JobService`
with ENGINE_BACKEND=local, then with ENGINE_BACKEND=ray on a local cluster (a head and one worker node, every
process on 127.0.0.1, dashboard off). Each service is warmed by one job first. Overhead per job is the
service's wall time minus the bare engine's, divided by N: database commits, PNG and result saving, event
delivery, the hop to the engine, and for Ray the streams and the bytes shipped back. Then `--ack-users` members
fire /imagine at once at the real bot (bench/discord_ack.py), first with a local engine, then attached to the
cluster: the acknowledgement must not suffer from the bot being a Ray driver (target p99 <= 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bench.discord_ack import imagine_ack_latency
from bench.ray_local import RESOURCE, bench_settings, local_cluster, run_to_end, write_report
from engine.engine import Engine
from engine.request import GenerationRequest
from jobs import JobService, JobSettings


def _request(number: int) -> GenerationRequest:
    return GenerationRequest(prompt=f"a red circle {number}", steps=2, seed=number, count=1)


def bare_seconds(jobs: int) -> float:
    engine = Engine(device="cpu")
    engine.run(_request(999))  # warm, like the services
    start = time.perf_counter()
    for number in range(jobs):
        engine.run(_request(number))
    return time.perf_counter() - start


async def service_seconds(settings: JobSettings, jobs: int) -> float:
    service = JobService(settings)
    await service.start()
    try:
        await run_to_end(service, _request(999))  # warm: the engine is built and has run once
        start = time.perf_counter()
        for number in range(jobs):
            await run_to_end(service, _request(number))
        return time.perf_counter() - start
    finally:
        await service.stop()


def _ack(users: int, job_settings: dict[str, object]) -> dict | None:
    """/imagine acknowledgement (and "Queued as job" reply) latencies in ms, or None when skipped."""
    if not users:
        return None
    measured = asyncio.run(imagine_ack_latency(Engine(device="cpu"), users=users, job_settings=job_settings))
    if not measured["measured"]:
        return measured
    in_ms = {name: round(1000 * seconds, 1) for name, seconds in measured["ack_latency_s"].items()}
    queued = {name: round(1000 * seconds, 1) for name, seconds in measured["queued_reply_latency_s"].items()}
    return {"users": users, "ack_ms": in_ms, "queued_reply_ms": queued}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ray_overhead", description=__doc__)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--ack-users", type=int, default=50, help="members firing /imagine at once (0: skip)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/ray-overhead.json"))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    bare = bare_seconds(args.jobs)
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as name:
        folder = Path(name)
        local = asyncio.run(service_seconds(bench_settings(folder, "local"), args.jobs))
        ack_local = _ack(args.ack_users, {})
        with local_cluster():
            remote = asyncio.run(service_seconds(bench_settings(folder, "ray"), args.jobs))
            ack_ray = _ack(args.ack_users, {"engine_backend": "ray", "engine_resource": RESOURCE})
    report = {
        "jobs": args.jobs,
        "bare_ms_per_job": round(1000 * bare / args.jobs, 1),
        "local_ms_per_job": round(1000 * local / args.jobs, 1),
        "ray_ms_per_job": round(1000 * remote / args.jobs, 1),
        "local_overhead_ms_per_job": round(1000 * (local - bare) / args.jobs, 1),
        "ray_overhead_ms_per_job": round(1000 * (remote - bare) / args.jobs, 1),
        "imagine_ack_local": ack_local,
        "imagine_ack_ray": ack_ray,
    }
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
