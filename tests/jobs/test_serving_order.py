"""Round-robin serving order, fuzzed and on real databases: nobody waits behind another user's
second turn, and no job is claimed twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.request import GenerationRequest
from jobs.database import make_engine, make_session_factory, upgrade_to_head
from jobs.events import EventHub
from jobs.queue import NewJob
from jobs.serving import serving_order
from jobs.settings import JobSettings
from jobs.sql_queue import SqlJobQueue
from jobs.states import JobKind

users = st.integers(min_value=1, max_value=5)
queues = st.lists(users, max_size=30)
last_served = st.dictionaries(users, st.one_of(st.none(), st.integers(min_value=0, max_value=100)))


def _jobs(owners: list[int]) -> list[SimpleNamespace]:
    return [SimpleNamespace(id=position, user_id=owner) for position, owner in enumerate(owners, start=1)]


def _served(minutes: dict[int, int | None]) -> dict[int, datetime | None]:
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    return {user: None if offset is None else epoch + timedelta(minutes=offset) for user, offset in minutes.items()}


@given(queues, last_served)
def test_every_job_is_served_once_oldest_first_per_user(owners, minutes) -> None:
    jobs = _jobs(owners)
    order = serving_order(jobs, _served(minutes))
    assert sorted(job.id for job in order) == [job.id for job in jobs]
    for user in set(owners):
        ids = [job.id for job in order if job.user_id == user]
        assert ids == sorted(ids)


@given(queues, last_served)
def test_no_user_gets_a_second_turn_while_another_waits_for_a_first(owners, minutes) -> None:
    order = serving_order(_jobs(owners), _served(minutes))
    waiting = Counter(owners)
    turns: Counter[int] = Counter()
    for job in order:
        for other, remaining in waiting.items():
            if remaining:
                assert turns[job.user_id] <= turns[other], f"user {job.user_id} served again before user {other}"
        turns[job.user_id] += 1
        waiting[job.user_id] -= 1


@given(queues, last_served, st.dictionaries(users, st.integers(min_value=0, max_value=3)))
def test_allowance_caps_how_many_of_a_users_jobs_may_start(owners, minutes, allowance) -> None:
    order = serving_order(_jobs(owners), _served(minutes), allowance)
    counts = Counter(job.user_id for job in order)
    for user in set(owners):
        assert counts[user] == min(Counter(owners)[user], allowance.get(user, 0))


def test_the_least_recently_served_user_goes_first() -> None:
    jobs = _jobs([1, 1, 2])
    served = _served({1: None, 2: 5})
    assert [job.user_id for job in serving_order(jobs, served)] == [1, 2, 1]
    served = _served({1: 10, 2: 5})
    assert [job.user_id for job in serving_order(jobs, served)] == [2, 1, 1]


@pytest.fixture
def sql_queue(database_url: str) -> Iterator[SqlJobQueue]:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    background = ThreadPoolExecutor(1)
    try:
        yield SqlJobQueue(make_session_factory(engine), JobSettings(database_url=database_url), EventHub(), background)
    finally:
        background.shutdown()
        engine.dispose()


def _submit(queue: SqlJobQueue, user: int) -> str:
    """A four-image job, so that each claim of at most four images takes exactly one."""
    request = GenerationRequest(prompt=f"a job of user {user}", seed=user)
    return queue.submit(NewJob(request, JobKind.IMAGINE, user, request.prompt)).public_id


def _claim(queue: SqlJobQueue, device: str = "cpu") -> list[str]:
    return [job.public_id for job in queue.claim_next(device=device, batch_id=device, max_batch_images=4)]


def test_the_database_queue_serves_the_user_whose_last_job_started_longest_ago(sql_queue: SqlJobQueue) -> None:
    first, second = _submit(sql_queue, 1), _submit(sql_queue, 2)
    assert _claim(sql_queue) == [first]
    assert _claim(sql_queue) == [second]
    older, newer = _submit(sql_queue, 2), _submit(sql_queue, 1)
    assert [job.public_id for job in sql_queue.waiting()] == [newer, older]


def test_devices_claiming_at_the_same_time_never_get_the_same_job(sql_queue: SqlJobQueue) -> None:
    submitted = [_submit(sql_queue, user) for user in range(60)]
    start = threading.Barrier(4)

    def claim_until_empty(device: str) -> list[str]:
        start.wait()
        claimed = []
        while group := _claim(sql_queue, device):
            claimed += group
        return claimed

    with ThreadPoolExecutor(4) as pool:
        claims = list(pool.map(claim_until_empty, ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]))
    assert sorted(public_id for claimed in claims for public_id in claimed) == sorted(submitted)
