"""The bot looking after its own disk: images deleted by moderators go (and their jobs stay hidden), and
images older than RETENTION_DAYS are pruned, their records kept so they can be made again exactly.

A hidden or pruned job keeps its status: these are not steps of a job's life but of its images' (the
queue, `jobs.queue`, owns the life).
"""

from __future__ import annotations

import logging
import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import Job, utcnow
from jobs.results import result_folder
from jobs.settings import JobSettings
from jobs.states import JobStatus
from jobs.views import JobView

log = logging.getLogger(__name__)


class Storage:
    def __init__(self, sessions: sessionmaker[Session], settings: JobSettings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._data_dir: Path = settings.data_dir

    def hide(self, public_id: str, by: int) -> JobView | None:
        """Deleted with 🗑️ by its owner or an admin: no /show, /reproduce or buttons any more, and its files
        go unless KEEP_DELETED_IMAGES. None if there is no such job."""
        with self._sessions.begin() as session:
            job = session.scalar(select(Job).where(Job.public_id == public_id))
            if job is None:
                return None
            if job.hidden_at is None:
                job.hidden_at, job.hidden_by = utcnow(), by
            job.stored_bytes = 0  # off the member's quota even when KEEP_DELETED_IMAGES keeps the files
            view = job.view(self._data_dir, with_images=False)
        if not self._settings.keep_deleted_images:
            shutil.rmtree(result_folder(self._data_dir, public_id), ignore_errors=True)
        return view

    def prune(self) -> int:
        """Remove the image files of jobs that ended more than RETENTION_DAYS ago (and, with
        RETENTION_DELETES_RECORDS, their rows); returns how many jobs were pruned."""
        days = self._settings.retention_days
        if not days:
            return 0
        cutoff = utcnow() - timedelta(days=days)
        expired = (Job.finished_at < cutoff, Job.status == JobStatus.SUCCEEDED, Job.images_pruned_at.is_(None))
        with self._sessions.begin() as session:
            public_ids = list(session.scalars(select(Job.public_id).where(*expired)))
        for public_id in public_ids:  # files first: a crash in between prunes them again next time
            shutil.rmtree(result_folder(self._data_dir, public_id), ignore_errors=True)
        with self._sessions.begin() as session:
            chosen = Job.public_id.in_(public_ids)
            if self._settings.retention_deletes_records:
                session.execute(delete(Job).where(chosen))
            else:
                session.execute(update(Job).where(chosen).values(images_pruned_at=utcnow(), stored_bytes=0))
        if public_ids:
            log.info("pruned the images of %d jobs older than %g days", len(public_ids), days)
        return len(public_ids)
