"""A local Ray cluster for the ENGINE_BACKEND=ray tests: a head and two worker nodes, every process bound to
127.0.0.1, dashboard off, each worker node offering one unit of a custom resource that stands in for a GPU."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.paths import REPO_ROOT

RESOURCE = "test_gpu"
MB = 1024 * 1024
# A node killed by a test is declared dead in about 5 s instead of Ray's 30 or more (docs/queue.md).
HEALTH_CHECKS = {"health_check_period_ms": 1000, "health_check_timeout_ms": 1000, "health_check_failure_threshold": 3}


@dataclass
class LocalCluster:
    cluster: Any
    """`ray.cluster_utils.Cluster`."""
    nodes: list
    """The worker nodes, one "GPU" each."""


class ClusterUnavailable(RuntimeError):
    """Ray is missing, or its cluster could not start here."""


@contextlib.contextmanager
def local_cluster(engine_data_dir: Path) -> Iterator[LocalCluster]:
    saved = dict(os.environ)
    # Read when Ray is imported: without it a driver given 127.0.0.1 looks for this machine at its outward
    # address (and waits for a GCS there forever). The nodes' processes inherit the rest: they import this
    # checkout (the tests' engine factories included) and build the tiny model under the engine's DATA_DIR.
    os.environ.update(
        {
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "PYTHONPATH": str(REPO_ROOT),
            "DATA_DIR": str(engine_data_dir),
            "OMP_NUM_THREADS": "1",
            "RAY_USAGE_STATS_ENABLED": "0",
        }
    )
    os.environ.pop("MODEL_ID", None)
    try:
        import ray
        from ray.cluster_utils import Cluster

        head = {"node_ip_address": "127.0.0.1", "num_cpus": 0, "include_dashboard": False}
        cluster = Cluster(
            initialize_head=True,
            head_node_args={**head, "object_store_memory": 80 * MB, "_system_config": dict(HEALTH_CHECKS)},
        )
        nodes = [add_node(cluster) for _ in range(2)]
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    except Exception as error:  # not installed, no shared memory, no free port: the caller skips, saying why
        os.environ.clear()
        os.environ.update(saved)
        raise ClusterUnavailable(f"{type(error).__name__}: {error}") from error
    try:
        yield LocalCluster(cluster, nodes)
    finally:
        ray.shutdown()
        cluster.shutdown()
        os.environ.clear()
        os.environ.update(saved)


def add_node(cluster: Any) -> Any:
    return cluster.add_node(
        node_ip_address="127.0.0.1", num_cpus=1, resources={RESOURCE: 1}, object_store_memory=80 * MB
    )
