"""ENGINE_BACKEND=ray on a local two-node cluster (`tests/jobs/ray_cluster.py`). One cluster serves the whole
module; each test starts its own JobService, and so its own engine actors, on it."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image as PILImage
from sqlalchemy import func, select

from engine.engine import Engine
from engine.request import GenerationRequest
from jobs import Cancelled, Failed, Finished, JobService, JobStatus, ProgressEvent
from jobs.messages import JobProgress, Ready, Shutdown
from jobs.models import Image, Job
from jobs.sources import sources_folder
from tests.jobs.helpers import (
    EVENT_TIMEOUT,
    Gate,
    TellingEngine,
    engine_factory,
    submit_all,
    until,
    until_done,
    wait_for_progress,
)
from tests.paths import REPO_ROOT
from tests.processes import alive


def _intact(job) -> bool:
    return all(hashlib.sha256(image.path.read_bytes()).hexdigest() == image.sha256 for image in job.images)


async def test_two_nodes_serve_one_queue_fairly_and_ship_images_both_ways(ray_settings, running_service) -> None:
    one_at_a_time = ray_settings.model_copy(update={"max_running_per_user": 1})  # the cap holds across machines
    gate = Gate()
    async with running_service(one_at_a_time, engine_factory=gate.factory()) as service:
        assert len((await service.stats()).devices) == 2
        ids = await submit_all(ray_settings, [(1, f"fox {n}") for n in range(4)] + [(2, "a cat"), (3, "a dog")])
        # Three jobs may run at once (one per member) and one engine holds at most two: while the gate holds
        # them, the other machine must take the third. Without the gate, on a loaded machine, the first engine
        # could finish each tiny job before the second one looked, and take them all.
        await until_statuses(service, ids, lambda statuses: statuses.count(JobStatus.RUNNING) == 3)
        await until(lambda: _running_devices(service, ids) == 2)
        gate.open()
        for public_id in ids:
            assert isinstance((await until_done(service, public_id))[-1], Finished)
        jobs = [await service.get_job(public_id) for public_id in ids]
        source = jobs[0].images[0].path
        variation = GenerationRequest(operation="variation", prompt="fox 0", source_image=str(source), steps=2, count=1)
        varied = await service.submit(variation, kind="variation", user_id=1, raw_prompt="fox 0")
        [*_, outcome] = await until_done(service, varied.public_id)
    assert isinstance(outcome, Finished)
    started = sorted(jobs, key=lambda job: job.started_at)
    assert {job.user_id for job in started[:3]} == {1, 2, 3}  # round-robin across the machines, as on one
    assert len({job.device for job in jobs}) == 2
    firsts = sorted((job for job in jobs if job.user_id == 1), key=lambda job: job.started_at)
    assert all(earlier.finished_at <= later.started_at for earlier, later in itertools.pairwise(firsts))
    assert all(job.status is JobStatus.SUCCEEDED and _intact(job) for job in jobs)
    kept = Path(outcome.job.request.source_image)  # the stored request keeps the bot's path, of the kept copy
    assert kept.parent == sources_folder(ray_settings.data_dir).resolve() and kept.read_bytes() == source.read_bytes()
    assert _intact(outcome.job) and outcome.job.images[0].path.is_relative_to(ray_settings.data_dir.resolve())


async def test_killing_the_engine_actor_mid_job_delivers_the_job_once_on_its_second_attempt(
    ray_settings, running_service
) -> None:
    gate = Gate()
    [public_id] = await submit_all(ray_settings, [(1, "a fox")])
    factory = engine_factory(TellingEngine, folder=gate.folder)
    async with running_service(ray_settings, engine_factory=factory) as service:
        following = asyncio.create_task(until_done(service, public_id))
        first = await gate.next_holder()
        os.kill(first, signal.SIGKILL)
        second = await gate.next_holder()  # a new actor runs it again
        gate.open()
        events = await following
        job = await service.get_job(public_id)
        with service.queue._sessions.begin() as session:
            images = session.scalar(select(func.count()).select_from(Image))
    assert second != first
    assert [type(event) for event in events if isinstance(event, (Finished, Failed))] == [Finished]
    assert job.status is JobStatus.SUCCEEDED and job.attempts == 2 and _intact(job)
    assert images == 1


async def test_previews_and_cancel_reach_a_remote_engine(ray_settings, running_service) -> None:
    gate = Gate()
    running, waiting = await submit_all(ray_settings, [(1, "a fox"), (2, "a cat")])
    async with running_service(ray_settings, engine_factory=gate.factory()) as service:

        async def first_preview() -> bytes:
            async for event in service.events(running):
                if isinstance(event, ProgressEvent) and event.preview_png:
                    return event.preview_png
            raise AssertionError("the job ended without a preview")

        preview = await asyncio.wait_for(first_preview(), EVENT_TIMEOUT)
        assert await service.cancel(running, user_id=1)
        await until(gate.cancel_seen)  # the engine on the other node saw it, mid-generation
        gate.open()
        assert (await until_done(service, running))[-1] == Cancelled()
        assert isinstance((await until_done(service, waiting))[-1], Finished)
    assert preview.startswith(b"\x89PNG")


async def test_a_graceful_stop_puts_a_remote_generation_that_overruns_back_in_line(
    ray_settings, running_service
) -> None:
    gate = Gate()
    [public_id] = await submit_all(ray_settings, [(1, "a fox")])
    settings = ray_settings.model_copy(update={"stop_timeout": 0.1})
    service = JobService(settings, engine_factory=gate.factory())
    await service.start()
    await wait_for_progress(service, public_id)
    stopping = asyncio.create_task(service.stop())
    await until(gate.cancel_seen)  # the abort reached the actor on the other node
    gate.open()
    await stopping
    job = await JobService(settings, process_jobs=False).get_job(public_id)
    assert job.status is JobStatus.QUEUED and job.attempts == 0


async def test_compatible_jobs_share_a_batch_on_a_remote_engine(ray_settings, running_service) -> None:
    settings = ray_settings.model_copy(update={"max_batch_images": 16})
    ids = await submit_all(settings, [(1, "a fox"), (2, "a cat"), (3, "a dog")])
    async with running_service(settings) as service:
        for public_id in ids:
            assert isinstance((await until_done(service, public_id))[-1], Finished)
        jobs = [await service.get_job(public_id) for public_id in ids]
    assert {job.batch_images for job in jobs} == {3} and len({job.batch_id for job in jobs}) == 1
    assert all(_intact(job) for job in jobs)


async def test_image_prompts_go_out_to_a_remote_engine_and_their_pixels_count(ray_settings, running_service) -> None:
    sources = ray_settings.data_dir / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    paths = []
    for colour in ("red", "blue"):
        path = sources / f"{colour}.png"
        PILImage.new("RGB", (64, 64), colour).save(path)
        paths.append(str(path.resolve()))
    requests = [GenerationRequest(prompt="a fox", image_prompts=(path,), steps=2, count=1, seed=1) for path in paths]
    async with running_service(ray_settings) as service:
        ids = [
            (await service.submit(r, kind="imagine", user_id=n, raw_prompt="a fox")).public_id
            for n, r in enumerate(requests)
        ]
        outcomes = [(await until_done(service, public_id))[-1] for public_id in ids]
    assert all(isinstance(outcome, Finished) and _intact(outcome.job) for outcome in outcomes)
    assert [outcome.job.request.image_prompts for outcome in outcomes] == [(path,) for path in paths]  # the bot's paths
    red, blue = (PILImage.open(outcome.job.images[0].path).convert("RGB") for outcome in outcomes)
    assert red.getpixel((32, 32))[0] > blue.getpixel((32, 32))[0]  # drawn from each image, on the other machine


async def test_a_message_stamped_by_another_incarnation_is_dropped(ray_settings) -> None:
    from jobs.ray_backend.actor import ActorSettings  # Ray is imported once the cluster fixture has set it up
    from jobs.ray_backend.handle import RayEngine, new_incarnation
    from jobs.ray_backend.shipping import Stamped

    settings = ActorSettings(incarnation=new_incarnation(), preview_interval=0, warm_up_batches=(1,), threads=1)
    options = {"num_cpus": 0, "resources": {ray_settings.engine_resource: 1}, "max_restarts": 0}
    engine = RayEngine(options, "cpu", engine_factory(Engine), settings, ray_settings.data_dir)
    try:
        await until(engine.has_more)
        assert isinstance(engine.receive(), Ready)
        engine._deliver(Stamped("an-older-one", JobProgress("stale", 0.5, None)))  # a late word of a dead actor
        engine._deliver(Stamped(settings.incarnation, JobProgress("current", 0.5, None)))
        assert engine.receive() == JobProgress("current", 0.5, None) and not engine.has_more()
    finally:
        engine.send(Shutdown())  # the pump reads streams until told there are no more
        engine.kill()
        engine.reap()


def _engine_actors() -> list[int]:
    """Engine actors alive on this machine, by the process title Ray gives them."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue
        if title.startswith(b"ray::EngineActor") and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _runner(env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "jobs", "run"]
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_sigkill_of_the_bot_mid_stream_then_restart_delivers_every_job_once_and_leaves_no_actor(
    ray_settings, ray_cluster
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": ray_settings.sqlalchemy_url,
        "DATA_DIR": str(ray_settings.data_dir),
        "ENGINE_BACKEND": "ray",
        "RAY_ADDRESS": ray_cluster.cluster.address,
        "ENGINE_RESOURCE": ray_settings.engine_resource,
        "MAX_BATCH_IMAGES": "1",
    }
    ids = await submit_all(ray_settings, [(n % 3, f"fox {n}") for n in range(8)])
    client = JobService(ray_settings, process_jobs=False)
    await client.start()
    runner = _runner(env)
    try:
        await until_statuses(
            client, ids, lambda statuses: JobStatus.SUCCEEDED in statuses and JobStatus.RUNNING in statuses
        )
        assert _engine_actors()
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    await until(lambda: not _engine_actors())  # they end with the bot that owned them
    runner = _runner(env)
    try:
        await until_statuses(client, ids, lambda statuses: all(status is JobStatus.SUCCEEDED for status in statuses))
    finally:
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(EVENT_TIMEOUT) == 0
    jobs = [await client.get_job(public_id) for public_id in ids]
    with client.queue._sessions.begin() as session:
        images = session.scalar(select(func.count()).select_from(Image))
    await client.stop()
    assert images == 8 and all(job.attempts in (1, 2) and _intact(job) for job in jobs)
    await until(lambda: not _engine_actors())


async def until_statuses(client: JobService, ids: list[str], condition) -> None:
    async def statuses() -> list[JobStatus]:
        return [(await client.get_job(public_id)).status for public_id in ids]

    deadline = time.monotonic() + EVENT_TIMEOUT
    while not condition(await statuses()):
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.05)


def _running_devices(service: JobService, ids: list[str]) -> int:
    with service.queue._sessions.begin() as session:
        devices = session.scalars(select(Job.device).where(Job.public_id.in_(ids), Job.status == JobStatus.RUNNING))
        return len(set(devices))
