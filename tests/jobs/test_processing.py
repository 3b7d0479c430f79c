"""The processor: fairness, batching, failures that stay with one job, cancellation, dead engine processes,
several devices."""

from __future__ import annotations

import asyncio
import multiprocessing
import re
from pathlib import Path

import numpy as np

from engine.engine import Engine
from engine.request import GenerationRequest
from jobs import Cancelled, Failed, Finished, JobStatus, ProgressEvent
from jobs.group_runner import SPAWN
from tests.jobs.helpers import Gate, engine_factory, submit_all, until_done, wait_for_progress, wait_for_start


class ExplodingEngine(Engine):
    """Fails any run, batched or alone, that contains the prompt "explode"."""

    def run(self, request, **options):
        self._check([request])
        return super().run(request, **options)

    def run_batch(self, requests, **options):
        self._check(requests)
        return super().run_batch(requests, **options)

    @staticmethod
    def _check(requests):
        if any(request.prompt == "explode" for request in requests):
            raise RuntimeError("the explode prompt always fails")


async def test_an_exception_fails_only_its_own_job(job_settings, running_service, caplog) -> None:
    """The member reads a short reason and a reference; the error and its traceback are in the log under it."""
    ids = await submit_all(job_settings, [(1, "a fox"), (1, "explode"), (2, "a cat")])
    async with running_service(job_settings, engine_factory=engine_factory(ExplodingEngine)) as service:
        outcomes = [(await until_done(service, public_id))[-1] for public_id in ids]
    assert isinstance(outcomes[0], Finished) and isinstance(outcomes[2], Finished)
    assert isinstance(outcomes[1], Failed)
    shown = re.fullmatch(
        r"Generating the images failed because of a problem on the bot's side\. \(reference `([0-9a-f]{8})`\)",
        outcomes[1].message,
    )
    assert shown, outcomes[1].message
    [logged] = [record for record in caplog.records if f"reference {shown[1]}" in record.getMessage()]
    assert logged.levelname == "ERROR" and ids[1] in logged.getMessage()
    assert "Traceback" in logged.getMessage() and "RuntimeError: the explode prompt always fails" in logged.getMessage()


async def test_round_robin_serves_a_second_user_before_the_first_users_second_job(
    job_settings, running_service
) -> None:
    settings = job_settings.model_copy(update={"max_batch_images": 1})
    ids = await submit_all(settings, [(1, f"fox {n}") for n in range(10)] + [(2, "a cat")])
    async with running_service(settings) as service:
        jobs = [await service.get_job(public_id) for public_id in ids]
        for job in jobs:
            await until_done(service, job.public_id)
        jobs = [await service.get_job(public_id) for public_id in ids]
    started = sorted(jobs, key=lambda job: job.started_at)
    assert [job.user_id for job in started[:3]] == [1, 2, 1]
    assert all(job.status is JobStatus.SUCCEEDED for job in jobs)


async def test_compatible_jobs_share_a_batch_and_get_the_same_pixels_as_alone(job_settings, running_service) -> None:
    ids = await submit_all(job_settings, [(1, "a fox"), (2, "a cat"), (3, "a dog")], count=2)
    async with running_service(job_settings) as service:
        for public_id in ids:
            assert isinstance((await until_done(service, public_id))[-1], Finished)
        jobs = [await service.get_job(public_id) for public_id in ids]

        original = jobs[1].images[1]
        replay = GenerationRequest.model_validate(
            jobs[1].request.model_dump()
            | {
                "seed": original.seed,
                "count": 1,
                "replay_batch": original.batch_size,
                "replay_slot": original.batch_slot,
            }
        )
        reproduced = await service.submit(
            replay,
            kind="reproduce",
            user_id=2,
            raw_prompt="a cat",
            parent_job=jobs[1].public_id,
            parent_index=original.index,
        )
        await until_done(service, reproduced.public_id)
        [copy] = (await service.get_job(reproduced.public_id)).images
    assert copy.sha256 != original.sha256  # the PNG records differ (job id, index) ...
    assert np.array_equal(np.asarray(_load(copy.path)), np.asarray(_load(original.path)))  # ... the pixels do not
    assert (copy.batch_size, copy.batch_slot) == (6, 3)

    assert len({job.batch_id for job in jobs}) == 1
    assert {job.batch_images for job in jobs} == {6}
    assert [image.batch_slot for job in jobs for image in job.images] == list(range(6))
    alone = Engine(device="cpu")
    for job in jobs:
        expected = alone.run(job.request).images
        for image, picture in zip(job.images, expected, strict=True):
            assert image.batch_size == 6
            difference = np.abs(np.asarray(picture, dtype=int) - np.asarray(_load(image.path), dtype=int))
            assert difference.max() <= 2


def _load(path):
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGB")


class OutOfMemoryError(RuntimeError):
    """Named like torch.OutOfMemoryError, which the queue recognises by name."""


class SmallMemoryEngine(Engine):
    """Runs only one job at a time, and logs every batch it is asked for (it lives in another process)."""

    def __init__(self, *, device: str, batch_log: str) -> None:
        super().__init__(device=device)
        self.batch_log = Path(batch_log)

    def run_batch(self, requests, **options):
        with self.batch_log.open("a") as log:
            log.write(f"{len(requests)}\n")
        if len(requests) > 1:
            raise OutOfMemoryError("CUDA out of memory")
        return super().run_batch(requests, **options)


async def test_out_of_memory_splits_the_batch_until_it_fits(job_settings, running_service, tmp_path) -> None:
    ids = await submit_all(job_settings, [(1, "a fox"), (2, "a cat"), (3, "a dog")])
    batch_log = tmp_path / "batches.txt"
    factory = engine_factory(SmallMemoryEngine, batch_log=str(batch_log))
    async with running_service(job_settings, engine_factory=factory) as service:
        outcomes = [(await until_done(service, public_id))[-1] for public_id in ids]
        jobs = [await service.get_job(public_id) for public_id in ids]
    assert all(isinstance(outcome, Finished) for outcome in outcomes)
    assert {job.batch_images for job in jobs} == {1}
    # The whole batch was tried first, then smaller ones (single jobs go through Engine.run, not run_batch).
    asked = [int(line) for line in batch_log.read_text().split()]
    assert asked[0] == 3 and all(size < 3 for size in asked[1:]), asked


class DiesOnceEngine(Engine):
    """Ends its whole process on the first job, as an uncaught error in the engine would."""

    def __init__(self, *, device: str, died) -> None:
        super().__init__(device=device)
        self.died = died

    def run(self, request, **options):
        if not self.died.is_set():
            self.died.set()
            raise SystemExit("the engine process dies")
        return super().run(request, **options)


async def test_a_dead_engine_process_is_restarted_and_its_job_runs_again(job_settings, running_service) -> None:
    died = SPAWN.Event()
    [public_id] = await submit_all(job_settings, [(1, "a fox")])
    async with running_service(job_settings, engine_factory=engine_factory(DiesOnceEngine, died=died)) as service:
        assert isinstance((await until_done(service, public_id))[-1], Finished)
        job = await service.get_job(public_id)
    assert died.is_set()
    assert job.attempts == 2


async def test_cancelling_a_running_job_stops_it(job_settings, running_service) -> None:
    gate = Gate()
    settings = job_settings.model_copy(update={"max_batch_images": 1})
    running, waiting = await submit_all(settings, [(1, "a fox"), (2, "a cat")])
    async with running_service(settings, engine_factory=gate.factory()) as service:
        await wait_for_start(service, running)
        assert await service.cancel(running, user_id=1)
        gate.open()
        assert (await until_done(service, running))[-1] == Cancelled()
        assert isinstance((await until_done(service, waiting))[-1], Finished)
        cancelled = await service.get_job(running)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.images == ()


async def test_each_device_gets_its_own_engine_process(job_settings, running_service) -> None:
    gate = Gate()
    settings = job_settings.model_copy(update={"max_batch_images": 1, "engine_devices": ("cpu", "cpu")})
    ids = await submit_all(settings, [(1, "a fox"), (2, "a cat")])
    async with running_service(settings, engine_factory=gate.factory()) as service:
        await asyncio.gather(*(wait_for_start(service, public_id) for public_id in ids))
        both_running = [(await service.get_job(public_id)).status for public_id in ids]
        assert (await service.stats()).devices == ("cpu", "cpu")
        assert len(multiprocessing.active_children()) == 2
        gate.open()
        for public_id in ids:
            assert isinstance((await until_done(service, public_id))[-1], Finished)
    assert both_running == [JobStatus.RUNNING, JobStatus.RUNNING]


async def test_cancelling_one_job_of_a_shared_batch_leaves_the_others_pixels_alone(
    job_settings, running_service
) -> None:
    gate = Gate()
    ids = await submit_all(job_settings, [(1, "a fox"), (2, "a cat"), (3, "a dog")])
    async with running_service(job_settings, engine_factory=gate.factory()) as service:
        await wait_for_progress(service, ids[1])
        assert await service.cancel(ids[1], user_id=2)
        assert (await until_done(service, ids[1]))[-1] == Cancelled()  # at once, while its batch runs on
        gate.open()
        outcomes = [(await until_done(service, public_id))[-1] for public_id in (ids[0], ids[2])]
        jobs = [await service.get_job(public_id) for public_id in ids]
    assert all(isinstance(outcome, Finished) for outcome in outcomes)
    assert not gate.cancel_seen()  # the batch was never told to stop
    assert jobs[1].status is JobStatus.CANCELLED and jobs[1].images == ()
    assert not (job_settings.data_dir / "images" / ids[1]).exists()  # its images were thrown away, not saved
    # The same three requests as one batch, never cancelled: the kept jobs' pixels are those, exactly.
    uncancelled = Engine(device="cpu").run_batch([job.request for job in jobs])
    for job, result in zip((jobs[0], jobs[2]), (uncancelled[0], uncancelled[2]), strict=True):
        [image] = job.images
        assert job.batch_images == 3
        assert np.array_equal(np.asarray(_load(image.path)), np.asarray(result.images[0]))


async def test_a_member_who_follows_a_job_after_the_engine_took_it_still_gets_previews(
    job_settings, running_service
) -> None:
    """On an idle engine the claim can beat the bot's subscription (it follows after posting the waiting
    message): previews start with the next step instead of never."""
    gate = Gate()
    settings = job_settings.model_copy(update={"preview_interval": 0})
    [public_id] = await submit_all(settings, [(1, "a fox")])
    async with running_service(settings, engine_factory=gate.factory()) as service:
        while (await service.get_job(public_id)).status is not JobStatus.RUNNING:  # taken with nobody following
            await asyncio.sleep(0.01)
        following = asyncio.create_task(until_done(service, public_id))
        await asyncio.sleep(0)  # let the follower subscribe before the engine goes on
        gate.open()
        events = await following
    assert isinstance(events[-1], Finished)
    assert any(isinstance(event, ProgressEvent) and event.preview_png for event in events)
