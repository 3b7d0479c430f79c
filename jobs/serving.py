"""Who goes next: round-robin across users, caps, and a little patience for a model that is already loaded.

The next job is the oldest queued job of the user who was served least recently (users never served
come first, by their oldest job); a user who queues ten jobs therefore cannot keep another waiting
behind all ten. Pure functions over rows, so the rules are tested without a database.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row

from engine.registry import DEFAULT_MODEL
from jobs.queue import WaitingJob


def serving_order(
    queued: Sequence[Row], last_served: dict[int, datetime | None], allowance: dict[int, int] | None = None
) -> list[Row]:
    """Round-robin over users ordered by when they were last served; `allowance` caps jobs per user."""
    by_user: dict[int, list[Row]] = defaultdict(list)
    for job in sorted(queued, key=lambda job: job.id):
        if allowance is None or len(by_user[job.user_id]) < allowance.get(job.user_id, 0):
            by_user[job.user_id].append(job)
    by_user = {user: jobs for user, jobs in by_user.items() if jobs}

    def user_key(user: int) -> tuple:
        served = last_served.get(user)
        first_job = by_user[user][0].id
        return (0, 0, first_job) if served is None else (1, served, first_job)

    users = sorted(by_user, key=user_key)
    rounds = max((len(jobs) for jobs in by_user.values()), default=0)
    return [by_user[user][turn] for turn in range(rounds) for user in users if turn < len(by_user[user])]


def prefer_loaded(
    order: list[WaitingJob], loaded: frozenset[str], passed_over: Counter[str], patience: int
) -> list[WaitingJob]:
    """Serving order, except that when the next job's model is not loaded on the claiming device, the first
    job whose model is goes ahead — at most `patience` times for the same waiting job (counted in
    `passed_over`), so a model switch costs one load per few jobs instead of one per job, and the job
    passed over still starts soon."""
    if not order or not loaded:
        return order
    head = order[0]
    if model_of(head) in loaded or passed_over[head.public_id] >= patience:
        return order
    for position, job in enumerate(order):
        if model_of(job) in loaded:
            passed_over[head.public_id] += 1
            return [job, *order[:position], *order[position + 1 :]]
    return order


def model_of(job: WaitingJob) -> str:
    return job.request.model or DEFAULT_MODEL
