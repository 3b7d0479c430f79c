"""The queue kept in the jobs table: round-robin across users, caps checked at submit, and every
transition committed and announced here (see `jobs.queue`).

Serving order (`jobs.serving`): the next job is the oldest queued job of the user who was served least
recently, within each user's running cap; a job for a model the device holds may go a little ahead.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import datetime

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from jobs.admission import (
    check_caps,
    check_disk,
    check_quotas,
    check_sources,
    folder_bytes,
    job_cost,
    with_parent_image_kept,
)
from jobs.batching import pick_group
from jobs.events import Cancelled, EventHub, Failed, Finished, PositionsPublisher, Started
from jobs.models import MAX_DELIVERY_NOTE, Image, Job, JobSource, new_public_id, utcnow
from jobs.queue import JobQueue, NewJob, UnknownParent, WaitingJob, interrupted_message
from jobs.results import JobResult, result_folder, saved_result
from jobs.serving import prefer_loaded, serving_order
from jobs.settings import JobSettings
from jobs.sources import source_names
from jobs.states import FINISHED_STATUSES, JobKind, JobStatus
from jobs.views import JobView

log = logging.getLogger(__name__)


class SqlJobQueue(JobQueue):
    """`background` runs the place-in-line recomputation that follows a change (the service's database thread)."""

    def __init__(
        self, sessions: sessionmaker[Session], settings: JobSettings, hub: EventHub, background: Executor
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._data_dir = settings.data_dir
        self._hub = hub
        self._positions = PositionsPublisher(self.positions, hub, background)
        self._passed_over: Counter[str] = Counter()
        """How often each waiting job let a job for a loaded model go first (`prefer_loaded`)."""
        self._passed_over_lock = threading.Lock()

    # queued

    def submit(self, job: NewJob) -> JobView:
        check_disk(self._data_dir, self._settings)
        job = with_parent_image_kept(self._data_dir, job)
        cost = job_cost(job.request)
        with self._sessions.begin() as session:
            check_caps(session, self._settings, job, cost)
            check_quotas(session, self._settings, job)
            check_sources(self._data_dir, job)
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
                cost=cost,
                sources=[JobSource(name=name) for name in source_names(job.request)],
            )
            session.add(row)
            session.flush()
            view = row.view(self._data_dir, with_images=False)
        self._positions.changed()
        return view

    # serving order

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

    # running

    def claim_next(
        self, *, device: str, batch_id: str, max_batch_images: int, loaded_models: frozenset[str] = frozenset()
    ) -> list[WaitingJob]:
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
            candidates = self._waiting(serving_order(queued, served, allowance))
            with self._passed_over_lock:
                patience = self._settings.model_switch_patience
                candidates = prefer_loaded(candidates, loaded_models, self._passed_over, patience)
                picked = pick_group([job.request for job in candidates], max_batch_images)
                group = [candidates[position] for position in picked]
                for job in group:
                    self._passed_over.pop(job.public_id, None)
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
        for job in group:
            self._hub.publish(job.public_id, Started(device))
        if group:
            self._positions.changed()
        return group

    # ended

    def finish(self, public_id: str, result: JobResult) -> JobView | None:
        stored_bytes = folder_bytes(result_folder(self._data_dir, public_id))  # a few stats, before the lock
        with self._sessions.begin() as session:
            job = session.scalar(
                select(Job).where(Job.public_id == public_id, Job.status == JobStatus.RUNNING).with_for_update()
            )
            if job is None:
                return None
            job.status = JobStatus.SUCCEEDED
            job.finished_at = utcnow()
            job.parameters = result.parameters
            job.grid_path = result.grid_path.as_posix() if result.grid_path is not None else None
            job.suggestions = list(result.suggestions) or None
            job.batch_images = result.batch_images
            job.stored_bytes = stored_bytes
            job.model = result.model or result.parameters.get("model")
            job.images.extend(Image.of(record) for record in result.images)
            session.flush()
            view = job.view(self._data_dir)
        self._hub.publish(public_id, Finished(view))
        return view

    def fail(self, public_id: str, message: str) -> bool:
        failed = self._transition(
            public_id,
            (JobStatus.RUNNING, JobStatus.QUEUED),
            status=JobStatus.FAILED,
            error=message,
            finished_at=utcnow(),
        )
        if failed:
            self._hub.publish(public_id, Failed(message))
            self._positions.changed()
        return failed

    def cancel(self, public_id: str) -> bool:
        cancelled = self._transition(
            public_id, (JobStatus.QUEUED, JobStatus.RUNNING), status=JobStatus.CANCELLED, finished_at=utcnow()
        )
        if cancelled:
            self._hub.publish(public_id, Cancelled())
            self._positions.changed()
        return cancelled

    # back in line

    def release(self, public_ids: Sequence[str]) -> None:
        if not public_ids:
            return
        with self._sessions.begin() as session:
            session.execute(
                update(Job)
                .where(Job.public_id.in_(list(public_ids)), Job.status == JobStatus.RUNNING)
                .values(status=JobStatus.QUEUED, attempts=Job.attempts - 1, device=None, batch_id=None)
            )
        self._positions.changed()

    def recover(self, public_ids: Sequence[str] | None = None) -> None:
        running = select(Job.public_id).where(Job.status == JobStatus.RUNNING).order_by(Job.id)
        if public_ids is not None:
            running = running.where(Job.public_id.in_(list(public_ids)))
        with self._sessions.begin() as session:
            interrupted = list(session.scalars(running))
        # Files are checked outside any transaction: hashing images must not hold SQLite's writer lock.
        saved = {public_id: saved_result(self._data_dir, public_id) for public_id in interrupted}
        for public_id, result in saved.items():
            if result is not None:
                self.finish(public_id, result)
        failed = []
        with self._sessions.begin() as session:
            again = [public_id for public_id, result in saved.items() if result is None]
            for job in session.scalars(select(Job).where(Job.public_id.in_(again), Job.status == JobStatus.RUNNING)):
                if job.attempts >= self._settings.max_attempts:
                    job.status, job.finished_at = JobStatus.FAILED, utcnow()
                    job.error = interrupted_message(job.attempts)
                    failed.append((job.public_id, job.error))
                else:
                    job.status, job.device, job.batch_id = JobStatus.QUEUED, None, None
        for public_id, message in failed:
            self._hub.publish(public_id, Failed(message))
        if again:
            self._positions.changed()

    # delivered

    def mark_delivered(self, public_id: str, note: str | None = None) -> bool:
        with self._sessions.begin() as session:
            result = session.execute(
                update(Job)
                .where(Job.public_id == public_id, Job.delivered_at.is_(None), Job.status.in_(list(FINISHED_STATUSES)))
                .values(delivered_at=utcnow(), delivery_note=note[:MAX_DELIVERY_NOTE] if note else None)
            )
            return bool(result.rowcount)

    def _transition(self, public_id: str, from_statuses: Sequence[JobStatus], **values) -> bool:
        with self._sessions.begin() as session:
            result = session.execute(
                update(Job).where(Job.public_id == public_id, Job.status.in_(list(from_statuses))).values(**values)
            )
            return bool(result.rowcount)
