"""The cluster's devices: one per unit of ENGINE_RESOURCE on each live node, each with what starts its actor."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from jobs.engine_handle import Device
from jobs.engine_process import warm_up_batch_sizes
from jobs.ray_backend.actor import ActorSettings
from jobs.ray_backend.handle import RayEngine, new_incarnation
from jobs.settings import JobSettings

# Ray's name for GPUs; any other ENGINE_RESOURCE is a custom resource (the tests give CPU nodes one).
GPU = "GPU"
# The node id characters kept in a device's name: enough to tell a machine's nodes apart, short enough for
# the jobs table's 32-character device column.
NODE_ID_CHARS = 6
DEVICE_NAME_CHARS = 32


@dataclass(frozen=True)
class RayDevice:
    name: str
    """Shown in /info and stored with each job: `<node address>/<node id prefix>:<index>`."""
    node_id: str
    engine_device: str
    """What the engine factory is given on that node: Ray sets CUDA_VISIBLE_DEVICES, so a GPU is always cuda:0."""


def connect(settings: JobSettings) -> None:
    """Join the cluster as a driver (the bot owns its actors: they end when it does). A caller that already
    joined one (the tests) keeps it."""
    if not ray.is_initialized():
        ray.init(address=settings.ray_address or "auto", logging_level="ERROR", namespace="imagine")


def cluster_devices(resource: str) -> list[RayDevice]:
    devices = []
    for node in sorted(ray.nodes(), key=lambda node: (node["NodeManagerAddress"], node["NodeID"])):
        if not node["Alive"]:
            continue
        count = int(node["Resources"].get(resource, 0))
        engine_device = "cuda:0" if resource == GPU else "cpu"
        devices.extend(RayDevice(_name(node, index), node["NodeID"], engine_device) for index in range(count))
    return devices


def _name(node: dict[str, Any], index: int) -> str:
    name = f"{node['NodeManagerAddress']}/{node['NodeID'][:NODE_ID_CHARS]}:{index}"
    return name if len(name) <= DEVICE_NAME_CHARS else f"{node['NodeID'][: NODE_ID_CHARS * 2]}:{index}"  # IPv6


def ray_engines(settings: JobSettings, factory: Callable[[str], Any]) -> list[Device]:
    connect(settings)
    devices = cluster_devices(settings.engine_resource)
    return [Device(device.name, functools.partial(start_engine, device, factory, settings)) for device in devices]


def start_engine(device: RayDevice, factory: Callable[[str], Any], settings: JobSettings) -> RayEngine:
    """A new actor (a new incarnation) pinned to the device's node, holding one unit of ENGINE_RESOURCE."""
    placement: dict[str, Any] = {
        "scheduling_strategy": NodeAffinitySchedulingStrategy(device.node_id, soft=False),
        "num_cpus": 0,
        "max_restarts": 0,  # a new incarnation is the device worker's decision, after it requeued the jobs
    }
    if settings.engine_resource == GPU:
        placement["num_gpus"] = 1
    else:
        placement["resources"] = {settings.engine_resource: 1}
    torch = sys.modules.get("torch")  # a host that configured torch (the tests) gets the same in its engines
    actor_settings = ActorSettings(
        incarnation=new_incarnation(),
        preview_interval=settings.preview_interval,
        warm_up_batches=warm_up_batch_sizes(settings.max_batch_images),
        threads=torch.get_num_threads() if torch is not None else None,
    )
    return RayEngine(placement, device.engine_device, factory, actor_settings, settings.data_dir)
