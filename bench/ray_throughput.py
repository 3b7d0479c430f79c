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
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.ray_overhead import MB, RESOURCE, bench_settings
from engine.request import GenerationRequest
from jobs import Finished, JobService, JobSettings


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
        await asyncio.gather(*(_one(service, 0, -1, burst) for _ in range(devices)))  # every engine built and warm
        start = time.perf_counter()
        await asyncio.gather(*(_one(service, number % 3, number, burst) for number in range(burst.jobs)))
        return time.perf_counter() - start
    finally:
        await service.stop()


async def _one(service: JobService, user_id: int, number: int, burst: Burst) -> None:
    request = GenerationRequest(
        prompt=f"a blue square {number}",
        steps=burst.steps,
        seed=abs(number),
        count=burst.count,
        width=burst.size,
        height=burst.size,
    )
    view = await service.submit(request, kind="imagine", user_id=user_id, raw_prompt="bench")
    async for event in service.events(view.public_id):
        if isinstance(event, Finished):
            return
    raise RuntimeError(f"job {view.public_id} did not finish")


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
    import ray
    import torch
    from ray.cluster_utils import Cluster

    torch.set_num_threads(1)
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as name:
        head = {"node_ip_address": "127.0.0.1", "num_cpus": 0, "include_dashboard": False}
        cluster = Cluster(initialize_head=True, head_node_args=head)
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
        try:
            for nodes in node_counts:
                while len(cluster.worker_nodes) < nodes:
                    cluster.add_node(
                        node_ip_address="127.0.0.1", num_cpus=1, resources={RESOURCE: 1}, object_store_memory=100 * MB
                    )
                folder = Path(name) / f"nodes-{nodes}"
                folder.mkdir()
                settings = bench_settings(folder, "ray").model_copy(
                    update={"max_queued_per_user": args.jobs, "max_running_per_user": args.jobs}
                )
                seconds[nodes] = asyncio.run(burst_seconds(settings, burst))
        finally:
            ray.shutdown()
            cluster.shutdown()
    report: dict[str, object] = dataclasses.asdict(burst) | {f"nodes_{n}_s": round(s, 2) for n, s in seconds.items()}
    if 1 in seconds and 2 in seconds:
        report["speed_up"] = round(seconds[1] / seconds[2], 2)
    print(json.dumps(report, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
