"""A result is never dropped: a database write that fails is kept and made later, and a result whose
images are on disk is finished from them after a crash instead of being generated again."""

from __future__ import annotations

import threading

from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from jobs import Finished, JobService, JobStatus
from jobs.models import Image, Job
from jobs.results import RESULT_FILE, result_folder
from tests.jobs.helpers import submit_all, tiny_request, until, until_done


async def test_a_result_whose_write_fails_is_kept_and_recorded_once_the_database_is_back(
    job_settings, running_service, monkeypatch
) -> None:
    database_down = threading.Event()
    database_down.set()
    tried: list[str] = []
    async with running_service(job_settings.model_copy(update={"max_batch_images": 1})) as service:
        record = service.queue.finish

        def finish_while_the_database_is_down(public_id, result):
            tried.append(public_id)
            if database_down.is_set():
                raise OperationalError("INSERT INTO images", {}, Exception("database is locked"))
            return record(public_id, result)

        monkeypatch.setattr(service.queue, "finish", finish_while_the_database_is_down)
        first = await service.submit(tiny_request("a fox"), kind="imagine", user_id=1, raw_prompt="a fox")
        await until(lambda: tried.count(first.public_id) >= 2)  # refused, kept, tried again
        second = await service.submit(tiny_request("a cat"), kind="imagine", user_id=2, raw_prompt="a cat")
        # The device goes on working while the first write waits: the second job is generated and saved.
        await until(lambda: (result_folder(job_settings.data_dir, second.public_id) / RESULT_FILE).exists())
        assert {(await service.get_job(job.public_id)).status for job in (first, second)} == {JobStatus.RUNNING}

        database_down.clear()
        outcomes = [(await until_done(service, job.public_id))[-1] for job in (first, second)]
        jobs = [await service.get_job(job.public_id) for job in (first, second)]
    assert all(isinstance(outcome, Finished) for outcome in outcomes)
    assert [(job.status, job.attempts, len(job.images)) for job in jobs] == [(JobStatus.SUCCEEDED, 1, 1)] * 2
    with service.queue._sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Image)) == 2


async def test_start_up_finishes_a_running_job_from_its_images_on_disk_instead_of_generating_again(
    job_settings, running_service
) -> None:
    saved, damaged = await submit_all(job_settings, [(1, "a fox"), (2, "a cat")])
    async with running_service(job_settings) as service:
        for public_id in (saved, damaged):
            await until_done(service, public_id)
        originals = {public_id: await service.get_job(public_id) for public_id in (saved, damaged)}
    # What a crash between saving the images and recording them leaves: files on disk, the job "running".
    client = JobService(job_settings, process_jobs=False)
    await client.start()
    with client.queue._sessions.begin() as session:
        session.execute(Image.__table__.delete())
        session.execute(update(Job).values(status="running", grid_path=None, finished_at=None))
    await client.stop()
    originals[damaged].images[0].path.write_bytes(b"half a PNG")

    async with running_service(job_settings) as service:
        recovered = await service.get_job(saved)
        assert recovered.status is JobStatus.SUCCEEDED and recovered.attempts == 1  # not generated again
        assert recovered.images == originals[saved].images
        assert isinstance((await until_done(service, damaged))[-1], Finished)
        regenerated = await service.get_job(damaged)
    assert regenerated.attempts == 2  # a file did not match its hash: made again
    assert [image.is_intact(job_settings.data_dir) for image in regenerated.images] == [True]
