"""Throughput with one vs two Ray worker nodes: how close two machines come to twice one.

`python -m bench.ray_throughput [--jobs N] [--steps S] [--count C] [--size PX] [--nodes 1,2]` starts a local
cluster (a head and one worker node, every process on 127.0.0.1, dashboard off), submits N jobs of C images of
the tiny model from three members at once to a `JobService` with ENGINE_BACKEND=ray and times the burst until
every job has finished; then adds a second worker node and times the same burst again with a new service (two
devices). Batching is off, so the figure is about placement, not batch size. Larger images (--size 512) make
saving and shipping them a visible part of each job. Both nodes share this machine's cores with the bot, so
on a small machine the ratio says more about the bot's own cost than about two real GPU machines.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.ray_local import add_engine_node, bench_settings, local_cluster, run_to_end, write_report
from engine.request import GenerationRequest
from jobs import JobService, JobSettings


@dataclass(frozen=True)
class Burst:
    jobs: int
    steps: int
    count: int
    size: int


async def burst_seconds(settings: JobSettings, burst: Burst) -> float:
    service = JobService(settings)
    await service.start()
    try:
        devices = len((await service.stats()).devices)
        warm_up = [run_to_end(service, _request(0, burst)) for _ in range(devices)]  # every engine built and warm
        await asyncio.gather(*warm_up)
        start = time.perf_counter()
        jobs = [run_to_end(service, _request(number, burst), number % 3) for number in range(1, burst.jobs + 1)]
        await asyncio.gather(*jobs)
        return time.perf_counter() - start
    finally:
        await service.stop()


def _request(number: int, burst: Burst) -> GenerationRequest:
    return GenerationRequest(
        prompt=f"a blue square {number}",
        steps=burst.steps,
        seed=number,
        count=burst.count,
        width=burst.size,
        height=burst.size,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ray_throughput", description=__doc__)
    parser.add_argument("--jobs", type=int, default=24)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--count", type=int, default=1, help="images per job")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (the tiny model's own: 64)")
    parser.add_argument("--nodes", default="1,2", help="worker node counts to time, in order")
    parser.add_argument("--out", type=Path, default=Path("bench/results/ray-throughput.json"))
    args = parser.parse_args(argv)
    burst = Burst(args.jobs, args.steps, args.count, args.size)
    node_counts = [int(count) for count in args.nodes.split(",")]
    import torch

    torch.set_num_threads(1)
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as name, local_cluster(nodes=0) as cluster:
        for nodes in node_counts:
            while len(cluster.worker_nodes) < nodes:
                add_engine_node(cluster)
            folder = Path(name) / f"nodes-{nodes}"
            folder.mkdir()
            settings = bench_settings(folder, "ray").model_copy(
                update={"max_queued_per_user": args.jobs, "max_running_per_user": args.jobs}
            )
            seconds[nodes] = asyncio.run(burst_seconds(settings, burst))
    report: dict[str, object] = dataclasses.asdict(burst) | {f"nodes_{n}_s": round(s, 2) for n, s in seconds.items()}
    if 1 in seconds and 2 in seconds:
        report["speed_up"] = round(seconds[1] / seconds[2], 2)
    write_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
