"""A /describe job walks the queue like any other: claimed alone, run by the engine process with the operator's
captioner, its suggestions recorded on the job in the transaction that finishes it (no image files), and
finished from its result.json after a crash instead of being run again."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from sqlalchemy import update

from engine.request import DESCRIBE_SUGGESTIONS, GenerationRequest, Operation
from jobs import Finished, JobKind, JobService, JobStatus
from jobs.admission import DESCRIBE_COST, job_cost
from jobs.models import Job
from jobs.results import RESULT_FILE, result_folder
from tests.captioner import save_tiny_captioner
from tests.jobs.helpers import until_done


def describe_request(tmp_path: Path) -> GenerationRequest:
    source = tmp_path / "fox.png"
    Image.new("RGB", (48, 32), (200, 60, 20)).save(source)
    return GenerationRequest(
        operation=Operation.DESCRIBE, prompt="", source_image=str(source), seed=3, count=DESCRIBE_SUGGESTIONS
    )


async def test_a_describe_job_records_its_suggestions_and_recovers_them_from_its_record(
    job_settings, running_service, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CAPTION_MODEL", str(save_tiny_captioner(tmp_path / "captioner")))  # the engine process's
    request = describe_request(tmp_path)
    assert job_cost(request) == DESCRIBE_COST and request.batch_key() is None  # cheap, and never batched
    async with running_service(job_settings) as service:
        job = await service.submit(request, kind=JobKind.DESCRIBE, user_id=1, raw_prompt="/describe fox.png")
        assert job.cost == DESCRIBE_COST
        events = await until_done(service, job.public_id)
        done = await service.get_job(job.public_id)
    assert isinstance(events[-1], Finished) and events[-1].job.suggestions == done.suggestions
    assert done.status is JobStatus.SUCCEEDED and len(set(done.suggestions)) == DESCRIBE_SUGGESTIONS
    assert done.images == () and done.grid_path is None
    assert [path.name for path in result_folder(job_settings.data_dir, job.public_id).iterdir()] == [RESULT_FILE]

    # What a crash between writing the record and the database leaves: the record on disk, the job "running".
    client = JobService(job_settings, process_jobs=False)
    await client.start()
    try:
        with client.queue._sessions.begin() as session:
            session.execute(update(Job).values(status="running", suggestions=None, finished_at=None))
        client.queue.recover()
        recovered = await client.get_job(job.public_id)
    finally:
        await client.stop()
    assert recovered.status is JobStatus.SUCCEEDED and recovered.attempts == 1  # not run again
    assert recovered.suggestions == done.suggestions
