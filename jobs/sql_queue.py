"""The queue kept in the jobs table: round-robin across users, caps checked at submit.

Serving order: the next job is the oldest queued job of the user who was served least recently
(users never served come first, by their oldest job). A user who queues ten jobs therefore
cannot keep another user waiting behind all ten.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from jobs.batching import pick_group
from jobs.models import Image, Job, JobKind, JobStatus, new_public_id, utcnow
from jobs.queue import FinishedImage, JobQueue, NewJob, QueueFull, UnknownParent, WaitingJob, interrupted_message
from jobs.settings import JobSettings
from jobs.views import JobView


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


class SqlJobQueue(JobQueue):
    def __init__(self, sessions: sessionmaker[Session], settings: JobSettings) -> None:
        self._sessions = sessions
        self._settings = settings

    def submit(self, job: NewJob) -> JobView:
        with self._sessions.begin() as session:
            self._check_caps(session, job.user_id)
            parent = None
            if job.parent_public_id is not None:
                parent = session.scalar(select(Job).where(Job.public_id == job.parent_public_id))
                if parent is None:
                    raise UnknownParent(f"there is no job {job.parent_public_id!r} to build on")
            row = Job(
                public_id=new_public_id(),
                kind=job.kind,
                parent=parent,
                parent_index=job.parent_index,
                user_id=job.user_id,
                guild_id=job.guild_id,
                channel_id=job.channel_id,
                raw_prompt=job.raw_prompt,
                parameters=job.request.model_dump(mode="json"),
                model=job.request.model,
                seed=job.request.seed,
                status=JobStatus.QUEUED,
                attempts=0,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return JobView.of(row, self._settings.data_dir, with_images=False)

    def _check_caps(self, session: Session, user_id: int) -> None:
        queued = session.execute(
            select(Job.user_id, func.count()).where(Job.status == JobStatus.QUEUED).group_by(Job.user_id)
        ).all()
        total = sum(count for _, count in queued)
        mine = next((count for user, count in queued if user == user_id), 0)
        if mine >= self._settings.max_queued_per_user:
            raise QueueFull(
                f"You already have {mine} jobs waiting, which is the most one person may queue. "
                "Please wait for one of them to start (or cancel one) and try again."
            )
        if total >= self._settings.max_queue_length:
            raise QueueFull(f"The queue is full right now ({total} jobs waiting). Please try again in a few minutes.")

    def _queued_and_served(
        self, session: Session, *, lock: bool = False
    ) -> tuple[list[Row], dict[int, datetime | None]]:
        """The queued jobs (only the columns serving needs) and when each of their users last had a job start.

        `lock` holds the queued rows until the transaction ends, so that two devices claiming at once
        on PostgreSQL cannot both take a job: the second waits, then sees it is no longer queued.
        SQLite needs no lock, since its transactions begin IMMEDIATE and so run one at a time."""
        waiting = (
            select(Job.id, Job.public_id, Job.user_id, Job.kind, Job.parameters)
            .where(Job.status == JobStatus.QUEUED)
            .order_by(Job.id)
        )
        queued = list(session.execute(waiting.with_for_update() if lock else waiting))
        waiting_users = select(Job.user_id).where(Job.status == JobStatus.QUEUED).distinct().subquery()
        their_jobs = aliased(Job)
        last_started = (
            select(func.max(their_jobs.started_at))
            .where(their_jobs.user_id == waiting_users.c.user_id)
            .scalar_subquery()
        )
        served = dict(session.execute(select(waiting_users.c.user_id, last_started)).all())
        return queued, served

    @staticmethod
    def _waiting(jobs: Sequence[Row]) -> list[WaitingJob]:
        return [WaitingJob(job.public_id, job.user_id, JobKind(job.kind), dict(job.parameters)) for job in jobs]

    def waiting(self) -> list[WaitingJob]:
        with self._sessions.begin() as session:
            queued, served = self._queued_and_served(session)
            return self._waiting(serving_order(queued, served))

    def claim_next(self, *, device: str, batch_id: str, max_batch_images: int) -> list[WaitingJob]:
        with self._sessions.begin() as session:
            queued, served = self._queued_and_served(session, lock=True)
            if not queued:
                return []
            running = dict(
                session.execute(
                    select(Job.user_id, func.count()).where(Job.status == JobStatus.RUNNING).group_by(Job.user_id)
                ).all()
            )
            limit = self._settings.max_running_per_user
            allowance = {job.user_id: limit - running.get(job.user_id, 0) for job in queued}
            group = pick_group(self._waiting(serving_order(queued, served, allowance)), max_batch_images)
            if group:
                session.execute(
                    update(Job)
                    .where(Job.public_id.in_([job.public_id for job in group]))
                    .values(
                        status=JobStatus.RUNNING,
                        started_at=utcnow(),
                        attempts=Job.attempts + 1,
                        device=device,
                        batch_id=batch_id,
                        error=None,
                    )
                )
            return group

    def finish(
        self,
        public_id: str,
        *,
        parameters: dict[str, Any],
        grid_path: str,
        images: Sequence[FinishedImage],
        model: str | None,
        batch_images: int,
    ) -> bool:
        with self._sessions.begin() as session:
            job = session.scalar(
                select(Job).where(Job.public_id == public_id, Job.status == JobStatus.RUNNING).with_for_update()
            )
            if job is None:
                return False
            job.status = JobStatus.SUCCEEDED
            job.finished_at = utcnow()
            job.parameters = parameters
            job.grid_path = grid_path
            job.batch_images = batch_images
            job.model = model or parameters.get("model")
            session.add_all(Image(job=job, **vars(image)) for image in images)
        return True

    def _transition(self, public_id: str, from_statuses: Sequence[JobStatus], **values) -> bool:
        with self._sessions.begin() as session:
            result = session.execute(
                update(Job).where(Job.public_id == public_id, Job.status.in_(list(from_statuses))).values(**values)
            )
            return bool(result.rowcount)

    def fail(self, public_id: str, message: str) -> bool:
        return self._transition(
            public_id,
            (JobStatus.RUNNING, JobStatus.QUEUED),
            status=JobStatus.FAILED,
            error=message,
            finished_at=utcnow(),
        )

    def release(self, public_id: str) -> bool:
        return self._transition(
            public_id,
            (JobStatus.RUNNING,),
            status=JobStatus.QUEUED,
            attempts=Job.attempts - 1,
            device=None,
            batch_id=None,
        )

    def cancel_queued(self, public_id: str) -> bool:
        return self._transition(public_id, (JobStatus.QUEUED,), status=JobStatus.CANCELLED, finished_at=utcnow())

    def mark_cancelled(self, public_id: str) -> bool:
        return self._transition(public_id, (JobStatus.RUNNING,), status=JobStatus.CANCELLED, finished_at=utcnow())

    def recover(self, max_attempts: int, public_ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
        failed = []
        running = select(Job).where(Job.status == JobStatus.RUNNING).order_by(Job.id)
        if public_ids is not None:
            running = running.where(Job.public_id.in_(list(public_ids)))
        with self._sessions.begin() as session:
            for job in session.scalars(running):
                if job.attempts >= max_attempts:
                    job.status = JobStatus.FAILED
                    job.finished_at = utcnow()
                    job.error = interrupted_message(job.attempts)
                    failed.append((job.public_id, job.error))
                else:
                    job.status = JobStatus.QUEUED
                    job.device = None
                    job.batch_id = None
        return failed
