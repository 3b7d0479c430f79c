"""ENGINE_BACKEND=ray: machines that leave (a node killed, or stopped and resumed, mid-job) and one that joins
mid-queue. A module of its own, so the nodes it takes away and adds change no other module's cluster."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import time

from jobs import Failed, Finished, JobStatus
from tests.jobs.helpers import (
    EVENT_TIMEOUT,
    Gate,
    TellingEngine,
    engine_factory,
    submit_all,
    tiny_request,
    until,
    until_done,
)
from tests.jobs.ray_cluster import LocalCluster, add_node
from tests.processes import alive, descendants


def _processes_of(node) -> set[int]:
    """The node's raylet and everything it started (agents, workers: the engine actor among them)."""
    roots = {info.process.pid for infos in node.all_processes.values() for info in infos}
    return roots | {child for root in roots for child in descendants(root)}


async def test_killing_a_whole_node_mid_job_delivers_the_job_once_on_the_other_node(
    ray_settings, ray_cluster: LocalCluster, running_service
) -> None:
    gate = Gate()
    [public_id] = await submit_all(ray_settings, [(1, "a fox")])
    factory = engine_factory(TellingEngine, folder=gate.folder)
    async with running_service(ray_settings, engine_factory=factory) as service:
        following = asyncio.create_task(until_done(service, public_id))
        first = await gate.next_holder()
        [node] = [node for node in ray_cluster.nodes if first in _processes_of(node)]
        for pid in _processes_of(node):
            os.kill(pid, signal.SIGKILL)
        ray_cluster.cluster.worker_nodes.discard(node)
        ray_cluster.nodes.remove(node)
        gate.open()
        events = await following
        job = await service.get_job(public_id)
        await until_listed_without(service, node.node_id)  # the dead machine's device is retired
    assert [type(event) for event in events if isinstance(event, (Finished, Failed))] == [Finished]
    assert job.status is JobStatus.SUCCEEDED and job.attempts == 2
    assert all(hashlib.sha256(image.path.read_bytes()).hexdigest() == image.sha256 for image in job.images)


async def until_listed_without(service, node_id: str) -> None:
    """Until /info's devices (and the health report's) no longer name a device of that node."""
    from jobs.ray_backend.cluster import NODE_ID_CHARS  # Ray only once the cluster fixture has set it up

    node_id = node_id[:NODE_ID_CHARS]

    async def listed() -> list[str]:
        return [*(await service.stats()).devices, *(await service.device_states())]

    deadline = time.monotonic() + EVENT_TIMEOUT
    while any(node_id in name for name in await listed()):
        assert time.monotonic() < deadline, f"the devices of node {node_id} are still listed: {await listed()}"
        await asyncio.sleep(0.2)


async def test_a_paused_node_is_given_up_and_leaves_no_engine_behind_when_it_resumes(
    ray_settings, ray_cluster: LocalCluster, running_service
) -> None:
    while len(ray_cluster.nodes) < 2:  # the test above may have taken one
        ray_cluster.nodes.append(add_node(ray_cluster.cluster))
    gate = Gate()
    [public_id] = await submit_all(ray_settings, [(1, "a fox")])
    factory = engine_factory(TellingEngine, folder=gate.folder)
    async with running_service(ray_settings, engine_factory=factory) as service:
        following = asyncio.create_task(until_done(service, public_id))
        first = await gate.next_holder()
        [node] = [node for node in ray_cluster.nodes if first in _processes_of(node)]
        paused = _processes_of(node)
        for pid in paused:
            os.kill(pid, signal.SIGSTOP)
        await gate.next_holder()  # given up on: the other node runs it again
        for pid in paused:
            os.kill(pid, signal.SIGCONT)
        ray_cluster.cluster.worker_nodes.discard(node)
        ray_cluster.nodes.remove(node)
        gate.open()
        events = await following
        job = await service.get_job(public_id)
        await until(lambda: not alive(first))  # the old engine ends with its raylet instead of living on
    assert [type(event) for event in events if isinstance(event, (Finished, Failed))] == [Finished]
    assert job.status is JobStatus.SUCCEEDED and job.attempts == 2


async def test_a_node_that_joins_mid_queue_takes_work(ray_settings, ray_cluster: LocalCluster, running_service) -> None:
    gate = Gate()
    async with running_service(ray_settings, engine_factory=gate.factory()) as service:
        before = set((await service.stats()).devices)
        # Each device holds at most two groups, so one job is left waiting whatever the cluster had.
        ids = [
            (await service.submit(tiny_request(f"fox {n}"), kind="imagine", user_id=n, raw_prompt="fox")).public_id
            for n in range(2 * len(before) + 1)
        ]
        await until_running(service, ids, 2 * len(before))
        ray_cluster.nodes.append(add_node(ray_cluster.cluster))
        await until_running(service, ids, len(ids))  # the new machine's device claimed the last one
        joined = set((await service.stats()).devices) - before
        gate.open()
        for public_id in ids:
            assert isinstance((await until_done(service, public_id))[-1], Finished)
        jobs = [await service.get_job(public_id) for public_id in ids]
    assert len(joined) == 1 and any(job.device in joined for job in jobs)


async def until_running(service, ids: list[str], count: int) -> None:
    async def running() -> int:
        jobs = [await service.get_job(public_id) for public_id in ids]
        return sum(job.status is JobStatus.RUNNING for job in jobs)

    deadline = time.monotonic() + EVENT_TIMEOUT
    while await running() < count:
        assert time.monotonic() < deadline, "never that many running"
        await asyncio.sleep(0.05)
