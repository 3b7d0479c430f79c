"""What the Ray benchmarks share: a local cluster on 127.0.0.1 (a head that offers no engine, worker nodes that
offer one each), the settings of a service on it, a job run to its end, and the JSON report."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Read when Ray is imported: 127.0.0.1 is this machine (docs/queue.md, "The Ray spike"). The nodes' processes
# inherit PYTHONPATH, so they import this checkout (the benchmarks' engine factories included).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH")])
)

from engine.request import GenerationRequest  # noqa: E402
from jobs import Finished, JobService, JobSettings, JobView  # noqa: E402

RESOURCE = "bench_gpu"
MB = 1024 * 1024


def bench_settings(folder: Path, backend: str) -> JobSettings:
    return JobSettings(
        database_url=f"sqlite:///{folder / f'{backend}.db'}",
        data_dir=folder / backend,
        engine_devices=("cpu",),
        engine_backend=backend,
        engine_resource=RESOURCE,
        max_batch_images=1,
    )


@contextlib.contextmanager
def local_cluster(nodes: int = 1, *, object_store_mb: int = 100) -> Iterator[Any]:
    """A head and `nodes` worker nodes, each offering one RESOURCE; this process is attached as the driver."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True, head_node_args={"node_ip_address": "127.0.0.1", "num_cpus": 0, "include_dashboard": False}
    )
    try:
        for _ in range(nodes):
            add_engine_node(cluster, object_store_mb=object_store_mb)
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def add_engine_node(cluster: Any, *, object_store_mb: int = 100) -> None:
    cluster.add_node(
        node_ip_address="127.0.0.1", num_cpus=1, resources={RESOURCE: 1}, object_store_memory=object_store_mb * MB
    )


async def run_to_end(service: JobService, request: GenerationRequest, user_id: int = 1) -> JobView:
    """Submit one job and wait for it to finish; the job as recorded."""
    view = await service.submit(request, kind="imagine", user_id=user_id, raw_prompt="bench")
    async for event in service.events(view.public_id):
        if isinstance(event, Finished):
            return event.job
    raise RuntimeError(f"job {view.public_id} did not finish")


def write_report(report: dict[str, Any], out: Path) -> None:
    print(json.dumps(report, indent=2))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
