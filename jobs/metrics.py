"""The queue's numbers for Prometheus (docs/operations.md): what waits and runs, how long each step of a job
took, how busy each device is, and how much is stored on how much disk.

The latencies come from each job's own timestamps, observed once: waiting and generating when the queue
announces the job finished (an `EventHub` observer), delivering when the bot records its final message.
Everything else is read when Prometheus scrapes: cheap COUNT queries and the devices' own clocks.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.device_worker import DeviceWorker
from jobs.events import Finished, JobEvent
from jobs.models import Image, Job
from jobs.states import FINISHED_STATUSES, DeviceState, JobStatus
from jobs.views import JobView

# Buckets in seconds, from what a member notices to what an operator should look into.
WAIT_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
GENERATION_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


@dataclass(frozen=True)
class StoredCounts:
    by_status: dict[JobStatus, int]
    undelivered: int
    """Ended jobs made for a channel whose final message is not on Discord yet (the outbox's backlog)."""
    images: int


def count_stored(sessions: sessionmaker[Session]) -> StoredCounts:
    with sessions.begin() as session:
        by_status = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
        undelivered = session.scalar(
            select(func.count()).where(
                Job.status.in_(list(FINISHED_STATUSES)), Job.channel_id.is_not(None), Job.delivered_at.is_(None)
            )
        )
        # Images whose files are still on disk: not pruned after RETENTION_DAYS, not deleted with 🗑️ (whose
        # files go unless KEEP_DELETED_IMAGES; kept ones are counted as gone, as members can no longer see them).
        images = session.scalar(
            select(func.count())
            .select_from(Image)
            .join(Job, Image.job_id == Job.id)
            .where(Job.images_pruned_at.is_(None), Job.hidden_at.is_(None))
        )
    return StoredCounts({status: by_status.get(status, 0) for status in JobStatus}, undelivered or 0, images or 0)


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else max((end - start).total_seconds(), 0.0)


def free_bytes(folder: Path) -> int:
    """Free space on the file system holding `folder` (or its nearest existing parent, before the first image)."""
    folder = folder.resolve()
    while not folder.exists():
        folder = folder.parent
    return shutil.disk_usage(folder).free


class JobMetrics(Collector):
    """Registers itself (and its histograms) on `registry`. `stored` returns the counts (the service runs
    `count_stored` on its database thread); `workers` the device workers of the moment."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        stored: Callable[[], StoredCounts],
        workers: Callable[[], Sequence[DeviceWorker]],
        data_dir: Path,
    ) -> None:
        self._stored = stored
        self._workers = workers
        self._data_dir = data_dir
        self.wait = Histogram(
            "imagine_job_wait_seconds",
            "From a job's submission to its start on a device (jobs that succeeded).",
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.generation = Histogram(
            "imagine_job_generation_seconds",
            "From a job's start on a device to its images being recorded (jobs that succeeded).",
            buckets=GENERATION_BUCKETS,
            registry=registry,
        )
        self.delivery = Histogram(
            "imagine_job_delivery_seconds",
            "From a job's end to its final message being on Discord.",
            buckets=DELIVERY_BUCKETS,
            registry=registry,
        )
        registry.register(self)

    # observed once per job

    def observe(self, public_id: str, event: JobEvent) -> None:
        """The `EventHub` observer: a succeeded job's wait and generation, from its recorded timestamps."""
        if isinstance(event, Finished):
            self._observe(self.wait, event.job.created_at, event.job.started_at)
            self._observe(self.generation, event.job.started_at, event.job.finished_at)

    def delivered(self, job: JobView | None) -> None:
        """After the bot marked the job delivered (None: the job was deleted since)."""
        if job is not None:
            self._observe(self.delivery, job.finished_at, job.delivered_at)

    @staticmethod
    def _observe(histogram: Histogram, start: datetime | None, end: datetime | None) -> None:
        seconds = seconds_between(start, end)
        if seconds is not None:
            histogram.observe(seconds)

    # read at each scrape

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        counts = self._stored()
        yield GaugeMetricFamily(
            "imagine_queue_length", "Jobs waiting for a device.", value=counts.by_status[JobStatus.QUEUED]
        )
        jobs = GaugeMetricFamily("imagine_jobs", "Jobs in the history, by state.", labels=["state"])
        for status, count in counts.by_status.items():
            jobs.add_metric([status.value], count)
        yield jobs
        yield GaugeMetricFamily(
            "imagine_jobs_undelivered",
            "Ended jobs whose final message is not on Discord yet.",
            value=counts.undelivered,
        )
        yield GaugeMetricFamily(
            "imagine_images_stored", "Images kept on disk (not pruned, not deleted).", value=counts.images
        )
        yield GaugeMetricFamily(
            "imagine_disk_free_bytes", "Free space on the disk holding DATA_DIR.", value=free_bytes(self._data_dir)
        )
        yield from self._devices()

    def _devices(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        busy = CounterMetricFamily(
            "imagine_device_busy_seconds", "Seconds the device spent generating.", labels=["device"]
        )
        ready = GaugeMetricFamily("imagine_device_ready", "1 when the device's engine is ready.", labels=["device"])
        for worker in self._workers():
            busy.add_metric([worker.device], worker.busy_seconds)
            ready.add_metric([worker.device], 1.0 if worker.state is DeviceState.READY else 0.0)
        yield busy
        yield ready
