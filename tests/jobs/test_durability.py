"""No job lost, none delivered twice: kills of the whole process or of its engine process, restarts,
graceful stops."""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select, update

from jobs import Failed, Finished, JobService, JobStatus
from jobs.models import Image, Job
from tests.jobs.helpers import EVENT_TIMEOUT, Gate, submit_all, until, until_done, wait_for_progress
from tests.paths import REPO_ROOT
from tests.processes import alive, descendants


def _runner(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "jobs", "run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _statuses(client: JobService, ids: list[str]) -> list[JobStatus]:
    return [(await client.get_job(public_id)).status for public_id in ids]


async def _wait_until(condition, client: JobService, ids: list[str]) -> None:
    deadline = time.monotonic() + EVENT_TIMEOUT
    while not condition(statuses := await _statuses(client, ids)):
        assert time.monotonic() < deadline, f"the condition never held; statuses {statuses}"
        await asyncio.sleep(0.02)


@pytest.mark.slow
async def test_sigkill_mid_stream_then_restart_completes_every_job_exactly_once(job_settings, engine_data_dir) -> None:
    # The runner shares the session's DATA_DIR, where the tiny model is already built.
    job_settings = job_settings.model_copy(update={"data_dir": engine_data_dir})
    env = {
        **os.environ,
        "DATA_DIR": str(engine_data_dir),
        "DATABASE_URL": job_settings.sqlalchemy_url,
        "ENGINE_DEVICES": "cpu",
        "MAX_BATCH_IMAGES": "1",
        "OMP_NUM_THREADS": "1",
    }
    env.pop("MODEL_ID", None)
    cli = subprocess.run(
        [sys.executable, "-m", "jobs", "submit", "a lighthouse --steps 2 --seed 5"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    ids = [cli.stdout.strip()] + await submit_all(job_settings, [(n % 3, f"fox {n}") for n in range(8)])
    client = JobService(job_settings, process_jobs=False)
    await client.start()

    runner = _runner(env)
    try:
        await _wait_until(
            lambda statuses: JobStatus.SUCCEEDED in statuses and JobStatus.RUNNING in statuses, client, ids
        )
        engines = descendants(runner.pid)
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    assert engines  # the engine process (and multiprocessing's helper) ...
    await until(lambda: not any(alive(pid) for pid in engines))  # ... die with the killed runner
    after_kill = await _statuses(client, ids)
    assert JobStatus.QUEUED in after_kill or JobStatus.RUNNING in after_kill

    runner = _runner(env)
    try:
        await _wait_until(lambda statuses: all(status is JobStatus.SUCCEEDED for status in statuses), client, ids)
    finally:
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(EVENT_TIMEOUT) == 0

    jobs = [await client.get_job(public_id) for public_id in ids]
    assert [len(job.images) for job in jobs] == [4] + [1] * 8
    assert all(job.attempts in (1, 2) for job in jobs)
    for image in (image for job in jobs for image in job.images):
        assert hashlib.sha256(image.path.read_bytes()).hexdigest() == image.sha256
    with client.queue._sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Image)) == 12
    await client.stop()


async def test_startup_requeues_interrupted_jobs_and_fails_those_out_of_attempts(job_settings, running_service) -> None:
    retried, exhausted = await submit_all(job_settings, [(1, "a fox"), (2, "a cat")])
    client = JobService(job_settings, process_jobs=False)
    await client.start()
    with client.queue._sessions.begin() as session:  # what a crash mid-generation leaves behind
        session.execute(update(Job).where(Job.public_id == retried).values(status="running", attempts=1))
        session.execute(update(Job).where(Job.public_id == exhausted).values(status="running", attempts=3))
    await client.stop()

    async with running_service(job_settings) as service:
        assert isinstance((await until_done(service, retried))[-1], Finished)
        failure = (await until_done(service, exhausted))[-1]
        jobs = [await service.get_job(public_id) for public_id in (retried, exhausted)]
    assert isinstance(failure, Failed) and "interrupted 3 times" in failure.message
    assert [job.attempts for job in jobs] == [2, 3]
    assert jobs[1].images == ()


async def test_sigkilling_the_engine_process_mid_job_still_delivers_the_job_once(job_settings, running_service) -> None:
    gate = Gate()
    [public_id] = await submit_all(job_settings, [(1, "a fox")])
    async with running_service(job_settings, engine_factory=gate.factory()) as service:
        following = asyncio.create_task(until_done(service, public_id))
        await wait_for_progress(service, public_id)
        [engine] = multiprocessing.active_children()
        os.kill(engine.pid, signal.SIGKILL)
        gate.open()
        events = await following
        job = await service.get_job(public_id)
        [restarted] = multiprocessing.active_children()
    assert restarted.pid != engine.pid
    assert [type(event) for event in events if isinstance(event, (Finished, Failed))] == [Finished]
    assert job.status is JobStatus.SUCCEEDED and job.attempts == 2
    [image] = job.images
    assert hashlib.sha256(image.path.read_bytes()).hexdigest() == image.sha256
    with service.queue._sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Image)) == 1


async def test_graceful_stop_lets_the_running_job_finish(job_settings, engine_settings) -> None:
    gate = Gate()
    [public_id] = await submit_all(job_settings, [(1, "a fox")])
    service = JobService(job_settings, engine_factory=gate.factory())
    await service.start()
    await wait_for_progress(service, public_id)
    stopping = asyncio.create_task(service.stop())
    await until(lambda: service._processor.stopping.is_set())
    gate.open()
    await stopping
    job = await JobService(job_settings, process_jobs=False).get_job(public_id)
    assert job.status is JobStatus.SUCCEEDED and len(job.images) == 1


async def test_graceful_stop_puts_a_generation_that_overruns_back_in_the_queue(job_settings, engine_settings) -> None:
    gate = Gate()
    [public_id] = await submit_all(job_settings, [(1, "a fox")])
    settings = job_settings.model_copy(update={"stop_timeout": 0.1})
    service = JobService(settings, engine_factory=gate.factory())
    await service.start()
    await wait_for_progress(service, public_id)
    stopping = asyncio.create_task(service.stop())
    await until(gate.cancel_seen)
    gate.open()
    await stopping
    job = await JobService(settings, process_jobs=False).get_job(public_id)
    assert job.status is JobStatus.QUEUED and job.attempts == 0
