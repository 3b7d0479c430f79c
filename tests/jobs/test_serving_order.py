"""Round-robin serving order, fuzzed: nobody waits behind another user's second turn."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from engine.request import GenerationRequest
from jobs.database import make_engine, make_session_factory, upgrade_to_head
from jobs.models import JobKind
from jobs.queue import NewJob
from jobs.settings import JobSettings
from jobs.sql_queue import SqlJobQueue, serving_order

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


def test_the_database_queue_serves_the_user_whose_last_job_started_longest_ago(database_url: str) -> None:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    queue = SqlJobQueue(make_session_factory(engine), JobSettings(database_url=database_url))

    def submit(user: int) -> str:
        request = GenerationRequest(prompt=f"a job of user {user}", seed=user)
        return queue.submit(NewJob(request, JobKind.IMAGINE, user, request.prompt)).public_id

    def claim() -> list[str]:
        return [job.public_id for job in queue.claim_next(device="cpu", batch_id="b", max_batch_images=4)]

    try:
        first, second = submit(1), submit(2)
        assert claim() == [first]
        assert claim() == [second]
        older, newer = submit(2), submit(1)
        assert [job.public_id for job in queue.waiting()] == [newer, older]
    finally:
        engine.dispose()


def test_devices_claiming_at_the_same_time_never_get_the_same_job(database_url: str) -> None:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    queue = SqlJobQueue(make_session_factory(engine), JobSettings(database_url=database_url))
    submitted = set()
    for user in range(60):
        request = GenerationRequest(prompt=f"a job of user {user}", seed=user)
        submitted.add(queue.submit(NewJob(request, JobKind.IMAGINE, user, request.prompt)).public_id)
    start = threading.Barrier(4)

    def claim_until_empty(device: str) -> list[str]:
        start.wait()
        claimed = []
        while group := queue.claim_next(device=device, batch_id=device, max_batch_images=4):
            claimed += [job.public_id for job in group]
        return claimed

    try:
        with ThreadPoolExecutor(4) as pool:
            claims = list(pool.map(claim_until_empty, ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]))
        every_claim = [public_id for claimed in claims for public_id in claimed]
        assert sorted(every_claim) == sorted(submitted)
    finally:
        engine.dispose()
