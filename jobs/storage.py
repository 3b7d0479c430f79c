"""The bot looking after its own disk: images deleted by moderators go (and their jobs stay hidden), and
images older than RETENTION_DAYS are pruned, their records kept so they can be made again exactly. The
images jobs start from (DATA_DIR/sources/: what members gave as prompts, and the copies of earlier jobs' images
that variations, upscales, zooms and pans start from) go once no job that may still be reproduced names them:
an image refused at admission, one whose jobs were all deleted with 🗑️ (unless KEEP_DELETED_IMAGES), or
whose records RETENTION_DELETES_RECORDS removed. A pruned job keeps its record, so its sources stay; pruning or
deleting a parent job never touches the copy its derived jobs start from.

A hidden or pruned job keeps its status: these are not steps of a job's life but of its images' (the
queue, `jobs.queue`, owns the life).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from jobs.admission import MEGABYTE, hold_submit_lock
from jobs.models import Job, JobSource, UncopiedSource, utcnow
from jobs.results import result_folder
from jobs.settings import JobSettings
from jobs.sources import (
    GRACE,
    SweptSources,
    keep_parent_image,
    parent_image,
    remove_if_stale,
    restore_set_aside,
    sources_folder,
    stale_files,
)
from jobs.states import FINISHED_STATUSES, JobStatus
from jobs.views import JobView

log = logging.getLogger(__name__)

# File names asked about per query: well under SQLite's and PostgreSQL's limits on bound parameters.
NAMES_PER_QUERY = 500
# Jobs from before revision 0009 whose parent's image is copied per call: each is one image read and hashed on
# the database thread, so a long history is copied in short turns between other work.
COPIES_PER_CALL = 50


class Storage:
    def __init__(self, sessions: sessionmaker[Session], settings: JobSettings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._data_dir: Path = settings.data_dir
        self._sources = sources_folder(settings.data_dir)

    def hide(self, public_id: str, by: int) -> JobView | None:
        """Deleted with 🗑️ by its owner or an admin: no /show, /reproduce or buttons any more, and its files (and
        the image prompts no other job needs) go unless KEEP_DELETED_IMAGES. None if there is no such job."""
        with self._sessions.begin() as session:
            job = session.scalar(select(Job).where(Job.public_id == public_id))
            if job is None:
                return None
            if job.hidden_at is None:
                job.hidden_at, job.hidden_by = utcnow(), by
            job.stored_bytes = 0  # off the member's quota even when KEEP_DELETED_IMAGES keeps the files
            view = job.view(self._data_dir, with_images=False)
            names = [source.name for source in job.sources]
        if not self._settings.keep_deleted_images:
            shutil.rmtree(result_folder(self._data_dir, public_id), ignore_errors=True)
            self._sweep_after_hiding(names)
        return view

    def _sweep_after_hiding(self, names: list[str]) -> None:
        """The hidden job's own sources, unless another job still needs them; a failure here must not undo the
        member's 🗑️ (it is committed): the hourly sweep tries again."""
        if not names:
            return
        try:
            self._sweep(names)
        except Exception:
            log.exception("removing the image prompts of a deleted job failed; the hourly sweep will try again")

    def sweep_sources(self) -> SweptSources:
        """Remove the files under DATA_DIR/sources/ that no job which may still be reproduced names, and that
        did not change within GRACE (`jobs.sources` says why that is safe); the service runs it after `prune`."""
        return self._sweep(None)

    def _sweep(self, names: Iterable[str] | None) -> SweptSources:
        """Every stored file, or only those `names`. The cutoff is fixed before the references are read: a job
        whose references the sweep does not see was submitted after it began, within GRACE of storing its
        image, so that image changed after the cutoff."""
        cutoff = time.time() - GRACE.total_seconds()
        stale = stale_files(self._sources, cutoff, names)
        if not stale:
            return SweptSources()
        with self._sessions.begin() as session:  # the references read and the files removed, as one step
            hold_submit_lock(session)
            needed = self._needed(session, [path.name for path in stale])
            restore_set_aside(self._sources)
            removed = [remove_if_stale(path, cutoff) for path in stale if path.name not in needed]
        sizes = [size for size in removed if size is not None]
        swept = SweptSources(files=len(sizes), bytes=sum(sizes))
        if swept.files:
            log.info(
                "removed %d image prompts (%.1f MB) that no job which may still be reproduced names",
                swept.files,
                swept.bytes / MEGABYTE,
            )
        return swept

    def _needed(self, session: Session, names: list[str]) -> set[str]:
        """Which of these file names a job that may still be reproduced names: any job, but a hidden one only
        while KEEP_DELETED_IMAGES keeps what was deleted."""
        kept = [] if self._settings.keep_deleted_images else [Job.hidden_at.is_(None)]
        needed: set[str] = set()
        for start in range(0, len(names), NAMES_PER_QUERY):
            chunk = names[start : start + NAMES_PER_QUERY]
            needed.update(
                session.scalars(select(JobSource.name).join(Job).where(JobSource.name.in_(chunk), *kept).distinct())
            )
        return needed

    def copy_parent_images(self, limit: int | None = None) -> int:
        """Up to `limit` (COPIES_PER_CALL) ended jobs from before revision 0009 (`jobs.models.UncopiedSource`)
        that name an earlier job's image in its folder: that image is copied under DATA_DIR/sources/ and the job's
        stored request and references name the copy, as a submit does now, so pruning or deleting the parent no
        longer takes what the job starts from. A job whose parent's image is gone already, or that is hidden
        while KEEP_DELETED_IMAGES is off, is left as it is: a submit naming that image is refused
        (`jobs.admission`). Returns how many jobs were settled (0: none is left to do now); the service calls it
        before each pruning until then. A job still queued or running waits for a later round, since its end
        writes its request again."""
        with self._sessions.begin() as session:
            waiting = session.execute(
                select(Job.id, Job.parameters, Job.hidden_at)
                .join(UncopiedSource, UncopiedSource.job_id == Job.id)
                .where(Job.status.in_(list(FINISHED_STATUSES)))
                .order_by(Job.id)
                .limit(limit or COPIES_PER_CALL)
            ).all()
        if not waiting:
            return 0
        copies = {
            job_id: self._copy_of_parent_image(job_id, parameters, hidden) for job_id, parameters, hidden in waiting
        }
        with self._sessions.begin() as session:
            for job in session.scalars(
                select(Job).where(Job.id.in_([job_id for job_id, copy in copies.items() if copy]))
            ):
                copy = copies[job.id]
                job.parameters = {**job.parameters, "source_image": str(copy)}
                if copy.name not in {source.name for source in job.sources}:
                    job.sources.append(JobSource(name=copy.name))
            session.execute(delete(UncopiedSource).where(UncopiedSource.job_id.in_(list(copies))))
        if copied := sum(copy is not None for copy in copies.values()):
            log.info("copied the images %d older derived jobs start from into the sources folder", copied)
        return len(copies)

    def _copy_of_parent_image(self, job_id: int, parameters: dict[str, Any], hidden: datetime | None) -> Path | None:
        if hidden is not None and not self._settings.keep_deleted_images:
            return None
        image = parent_image(parameters.get("source_image"), self._data_dir)
        if image is None or not image.is_file():
            return None
        try:
            return keep_parent_image(image, self._data_dir)
        except FileNotFoundError:  # pruned since the line above
            return None
        except OSError:  # unreadable, say: the job stays as it was, and the other jobs are copied
            log.exception("copying the image job %d starts from into the sources folder failed", job_id)
            return None

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
