"""The queue owns a job's life: each transition is committed and announced in one call, at most once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine.request import GenerationRequest
from jobs import Cancelled, Failed, Finished, JobStatus, PositionChanged, Started
from jobs.database import make_engine, make_session_factory, upgrade_to_head
from jobs.events import EventHub, JobEvent
from jobs.queue import NewJob
from jobs.results import ImageRecord, JobResult
from jobs.settings import JobSettings
from jobs.sql_queue import SqlJobQueue
from jobs.states import JobKind


@pytest.fixture
def queue(database_url: str, tmp_path: Path) -> Iterator[SqlJobQueue]:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    background = ThreadPoolExecutor(1)
    settings = JobSettings(_env_file=None, database_url=database_url, data_dir=tmp_path, max_attempts=2)
    try:
        yield SqlJobQueue(make_session_factory(engine), settings, EventHub(), background)
    finally:
        background.shutdown()
        engine.dispose()


def submit(queue: SqlJobQueue, user: int = 1) -> str:
    request = GenerationRequest(prompt="a red fox", seed=1, count=1, steps=2)
    return queue.submit(NewJob(request, JobKind.IMAGINE, user, "a red fox", channel_id=5)).public_id


def claim(queue: SqlJobQueue) -> list[str]:
    return [job.public_id for job in queue.claim_next(device="cpu", batch_id="b", max_batch_images=1)]


def result_for(public_id: str) -> JobResult:
    image = ImageRecord(1, 1, Path(f"images/{public_id}/1.png"), "0" * 64, 64, 64, 1, 0)
    return JobResult(
        {"prompt": "a red fox", "seed": 1, "count": 1}, Path(f"images/{public_id}/grid.png"), (image,), "default", 1
    )


async def settled(queue: SqlJobQueue) -> None:
    """Until the place-in-line pass that follows a change has run: it runs on the queue's one background thread
    (repeated passes inside the same task), so a task submitted after it finishes after it. (A fixed sleep
    here failed on a loaded machine.)"""
    await asyncio.wrap_future(queue._positions._executor.submit(lambda: None))


async def heard(queue: SqlJobQueue, public_id: str, action) -> list[JobEvent]:
    """What a subscriber hears while `action` runs (place-in-line updates included, which follow a change)."""
    await settled(queue)  # the place-in-line pass of the change before this one has run
    subscription = queue._hub.subscribe(public_id)
    action()
    await settled(queue)  # and this one's
    queue._hub.unsubscribe(public_id, subscription)
    events = []
    while not subscription.queue.empty():
        events.append(subscription.queue.get_nowait())
    return events


async def test_a_jobs_life_is_announced_by_the_calls_that_commit_it(queue: SqlJobQueue) -> None:
    public_id = await asyncio.to_thread(submit, queue)
    assert await heard(queue, public_id, lambda: claim(queue)) == [Started("cpu")]
    [finished] = await heard(queue, public_id, lambda: queue.finish(public_id, result_for(public_id)))
    assert isinstance(finished, Finished) and finished.job.status is JobStatus.SUCCEEDED
    assert [image.index for image in finished.job.images] == [1]
    assert await heard(queue, public_id, lambda: queue.finish(public_id, result_for(public_id))) == []  # once
    assert queue.mark_delivered(public_id) and not queue.mark_delivered(public_id)


async def test_cancel_fail_release_and_recover_each_announce_what_they_commit(queue: SqlJobQueue) -> None:
    queued, running, failing, released, exhausted = [await asyncio.to_thread(submit, queue, n) for n in range(5)]
    assert not queue.mark_delivered(queued)  # the outbox only takes jobs that ended
    assert await heard(queue, queued, lambda: queue.cancel(queued)) == [Cancelled()]
    for _ in range(4):
        claim(queue)
    assert await heard(queue, running, lambda: queue.cancel(running)) == [Cancelled()]
    assert await heard(queue, failing, lambda: queue.fail(failing, "no")) == [Failed("no")]
    assert await heard(queue, released, lambda: queue.release([released])) == [PositionChanged(1)]
    assert claim(queue) == [released]
    assert await heard(queue, released, lambda: queue.recover([released])) == [PositionChanged(1)]  # attempt 1 of 2
    assert claim(queue) == [released]
    [gave_up] = await heard(queue, released, lambda: queue.recover([released]))
    assert isinstance(gave_up, Failed) and "interrupted 2 times" in gave_up.message
    assert await heard(queue, exhausted, lambda: queue.cancel(running)) == []  # already ended: nothing to tell


async def test_a_place_in_line_read_before_a_claim_is_never_told_after_it() -> None:
    """The race a loaded machine once showed: a place-in-line pass reads the line, a claim commits and announces
    Started, then the pass announces the place it read. The claimed job must not hear it, and once it is back in
    line (released) the next pass must tell it its place."""
    hub = EventHub()
    subscription = hub.subscribe("job")
    stale = hub.sequence()  # the pass reads the line here: "job" is first
    hub.publish("job", Started("cpu"))  # the claim commits and announces
    hub.publish_positions({"job": 1}, read_after=stale)
    fresh = hub.sequence()  # released, the next pass reads it first in line again
    hub.publish_positions({"job": 1}, read_after=fresh)
    await asyncio.sleep(0)
    heard = []
    while not subscription.queue.empty():
        heard.append(subscription.queue.get_nowait())
    assert heard == [Started("cpu"), PositionChanged(1)]
