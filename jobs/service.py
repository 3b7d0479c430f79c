"""`JobService`: the one facade the bot uses for the queue and the history; every method is async.

Database work runs on the service's own database threads and generation in one engine process per
device, so the event loop only ever waits on awaits: an interaction is acknowledged at once however
busy the queue is. With SQLite, one database thread: its single writer then never sleeps waiting for
its own lock, which 50 threads submitting at once would.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import make_url

from engine.prefetch import needs_prefetch
from engine.request import GenerationRequest
from engine.settings import EngineSettings
from jobs.database import make_engine, make_session_factory, upgrade_to_head
from jobs.device_worker import DeviceWorker
from jobs.engine_handle import Device
from jobs.engine_process import LocalEngines
from jobs.events import (
    TERMINAL_EVENTS,
    Accepted,
    Cancelled,
    EventHub,
    Failed,
    Finished,
    JobEvent,
    PositionChanged,
    Started,
)
from jobs.history import History
from jobs.metrics import JobMetrics, StoredCounts, count_stored
from jobs.processor import Processor, default_engine_factory
from jobs.queue import NewJob
from jobs.results import ImageRecord
from jobs.settings import JobSettings
from jobs.sources import SweptSources
from jobs.sql_queue import SqlJobQueue
from jobs.states import DeviceState, JobKind, JobStatus
from jobs.storage import Storage
from jobs.views import GuildConfigView, JobView, QueueStats, SettingsChange, UserSettingsView

# Database threads for a server database, which takes concurrent writers.
POSTGRES_THREADS = 8
# How often images past RETENTION_DAYS, and image prompts no job needs, are looked for.
PRUNE_INTERVAL_SECONDS = 3600
# With ENGINE_BACKEND=ray, how often the cluster is looked at for machines that joined.
DEVICE_WATCH_SECONDS = 5.0

log = logging.getLogger(__name__)


class UnknownJob(LookupError):
    """No job has this public id."""


class ModelDownloadFailed(RuntimeError):
    """A registered hub model could not be brought into the cache at start-up; the message says what to do."""


def prefetch_models() -> None:
    """Download the registered hub models before the first job (a child process: it needs diffusers), so no
    member's job ever waits on a download; the engine processes then run with the hub offline."""
    settings = EngineSettings()
    if not needs_prefetch(settings):
        return
    if subprocess.run([sys.executable, "-m", "engine.prefetch"]).returncode != 0:
        raise ModelDownloadFailed(
            "Some registered models could not be downloaded (see the lines above). Check the network and the "
            "ids in MODEL_ID, MODELS, UPSCALER_MODEL, CONTENT_CLASSIFIER and CAPTION_MODEL, then start again."
        )


class JobService:
    """Submit jobs, follow them, read the history. `process_jobs=False` makes a submit-only client."""

    def __init__(
        self,
        settings: JobSettings | None = None,
        *,
        process_jobs: bool = True,
        devices: Sequence[str] | None = None,
        engine_factory: Callable[[str], Any] = default_engine_factory,
    ) -> None:
        self.settings = settings or JobSettings()
        self._db = make_engine(self.settings.sqlalchemy_url)
        sqlite = make_url(self.settings.sqlalchemy_url).get_backend_name() == "sqlite"
        self._database = ThreadPoolExecutor(
            max_workers=1 if sqlite else POSTGRES_THREADS, thread_name_prefix="jobs-database"
        )
        sessions = self._sessions = make_session_factory(self._db)
        self._hub = EventHub()
        self.queue = SqlJobQueue(sessions, self.settings, self._hub, self._database)
        self.history = History(sessions, self.settings.data_dir)
        self.storage = Storage(sessions, self.settings)
        self._pruning: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None
        self._process_jobs = process_jobs
        self._devices = tuple(devices) if devices is not None else None
        self._engine_factory = engine_factory
        self._processor: Processor | None = None
        self._started_at = time.monotonic()
        self._metrics: JobMetrics | None = None

    async def _run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run database work on the service's database threads."""
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._database, call)

    # lifecycle

    async def start(self) -> None:
        """Bring the schema to head, pick up jobs a previous run left behind, start the workers."""
        await self._run(upgrade_to_head, self.settings.sqlalchemy_url)
        self._started_at = time.monotonic()
        if not self._process_jobs:
            return
        self._pruning = asyncio.create_task(self._prune_now_and_then())
        if self.settings.engine_backend == "local":  # each machine of a cluster fetches its own (README)
            await asyncio.to_thread(prefetch_models)
        await self._run(self.queue.recover)
        engines = await asyncio.to_thread(self._engines)
        self._processor = Processor(self.queue, self._hub, self.settings, engines=engines)
        await asyncio.to_thread(self._processor.start)
        if self.settings.engine_backend == "ray":
            self._watching = asyncio.create_task(self._watch_devices(self._processor))

    def _engines(self) -> list[Device]:
        """Each device and what starts its engine: an actor per GPU of the cluster, or an engine process per
        configured (or visible) device of this machine."""
        if self.settings.engine_backend == "ray":
            from jobs.ray_backend import ray_engines  # only here: a single-machine bot never imports Ray

            return ray_engines(self.settings, self._engine_factory)
        devices = self._devices or self.settings.devices()
        return [Device(device, LocalEngines(device, self._engine_factory, self.settings)) for device in devices]

    async def _watch_devices(self, processor: Processor) -> None:
        """With a cluster: start a device worker for every GPU of a machine that joins while the bot runs, and
        retire those of a machine Ray declared dead (a machine that comes back is a new node, with new names)."""
        while True:
            await asyncio.sleep(DEVICE_WATCH_SECONDS)
            try:
                engines = await asyncio.to_thread(self._engines)
            except Exception:  # the head is unreachable for a moment: the next round looks again
                log.exception("listing the cluster's devices failed")
                continue
            for device in engines:
                if device.name not in processor.devices:
                    log.info("a device joined: %s", device.name)
                    await asyncio.to_thread(processor.add, device)
            present = {device.name for device in engines}
            for name in [name for name in processor.devices if name not in present]:
                log.warning("a device left the cluster: %s; what it held goes back in line", name)
                await asyncio.to_thread(processor.retire, name)

    async def stop(self) -> None:
        """Graceful: no new work, running generations finish (or go back to the queue after STOP_TIMEOUT)."""
        for task in (self._pruning, self._watching):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._processor is not None:
            await asyncio.to_thread(self._processor.stop, self.settings.stop_timeout)
            self._processor = None
        self._database.shutdown(wait=True)
        self._db.dispose()

    # the queue

    async def submit(
        self,
        request: GenerationRequest,
        *,
        kind: JobKind | str,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
        raw_prompt: str,
        parent_job: str | None = None,
        parent_index: int | None = None,
    ) -> JobView:
        """Committed to the database before it returns; raises QueueFull (message for the user) at a cap."""
        new = NewJob(
            request=request,
            kind=JobKind(kind),
            user_id=user_id,
            raw_prompt=raw_prompt,
            guild_id=guild_id,
            channel_id=channel_id,
            parent_public_id=parent_job,
            parent_index=parent_index,
        )
        view = await self._run(self.queue.submit, new)
        if self._processor is not None:
            self._processor.wake()
        return view

    async def events(self, public_id: str) -> AsyncIterator[JobEvent]:
        """The job's state now (Accepted, Started or its end), then every change until it ends."""
        subscription = self._hub.subscribe(public_id)
        if self._processor is not None:  # an engine that took the job before anyone followed it starts previews
            self._processor.follow(public_id)
        try:
            current = await self._run(self._current_event, public_id)
            if current is None:
                raise UnknownJob(f"there is no job {public_id!r}")
            yield current
            if isinstance(current, TERMINAL_EVENTS):
                return
            started = isinstance(current, Started)
            position = current.position if isinstance(current, Accepted) else None
            while True:
                event = await subscription.queue.get()
                if isinstance(event, Started):
                    if started:  # already reported by the snapshot above
                        continue
                    started, position = True, None
                elif isinstance(event, PositionChanged):  # after Started: back in line
                    if event.position == position:  # computed before the snapshot, which already told it
                        continue
                    started, position = False, event.position
                yield event
                if isinstance(event, TERMINAL_EVENTS):
                    return
        finally:
            self._hub.unsubscribe(public_id, subscription)

    async def cancel(self, public_id: str, user_id: int) -> bool:
        """Only the owner may. A queued job ends at once; a running one too, and its engine drops it at the next
        step (its batch mates' work goes on). A job generating in another process is marked cancelled at once
        and whatever that process still makes for it is discarded."""
        job = await self.get_job(public_id)
        if job is None or job.user_id != user_id or job.is_finished:
            return False
        if self._processor is not None:
            self._processor.cancel(public_id)
        return await self._run(self.queue.cancel, public_id)

    async def hide(self, public_id: str, by: int) -> JobView | None:
        """Deleted by its owner or a server admin: hidden for good, its files removed (see `jobs.storage`)."""
        return await self._run(self.storage.hide, public_id, by)

    async def prune(self) -> int:
        """Remove the images older than RETENTION_DAYS now (the service also does it every hour)."""
        return await self._run(self.storage.prune)

    async def copy_parent_images(self) -> int:
        """Copy the images that jobs submitted before revision 0009 start from out of their parents' folders, in
        short turns on the database thread (`jobs.storage`; the service does it before each pruning). Returns how
        many such jobs were settled."""
        settled = 0
        while turn := await self._run(self.storage.copy_parent_images):
            settled += turn
        return settled

    async def sweep_sources(self) -> SweptSources:
        """Remove the stored image prompts that no job which may still be reproduced names (`jobs.storage`; the
        service also does it every hour, after pruning)."""
        return await self._run(self.storage.sweep_sources)

    async def _prune_now_and_then(self) -> None:
        while True:
            try:
                await self.copy_parent_images()  # before: what older derived jobs need leaves the folders first
                await self.prune()
                await self.sweep_sources()  # after: records that pruning deleted free their sources
            except Exception:  # the database went away for a moment: the next round tries again
                log.exception("pruning old images failed")
            await asyncio.sleep(PRUNE_INTERVAL_SECONDS)

    async def mark_delivered(self, public_id: str, note: str | None = None) -> bool:
        """The job's final message is on Discord, or (with a note saying why) never can be."""
        delivered = await self._run(self.queue.mark_delivered, public_id, note)
        if delivered and note is None and self._metrics is not None:
            self._metrics.delivered(await self.get_job(public_id))
        return delivered

    async def stats(self) -> QueueStats:
        waiting, running = await asyncio.gather(self._run(self.queue.waiting), self._run(self.history.running_count))
        positions: dict[int, list[int]] = defaultdict(list)
        for place, job in enumerate(waiting, start=1):
            positions[job.user_id].append(place)
        return QueueStats(
            queue_length=len(waiting),
            running=running,
            positions_by_user={user: tuple(places) for user, places in positions.items()},
            devices=self._processor.devices if self._processor else (),
            uptime_seconds=time.monotonic() - self._started_at,
        )

    # the history

    async def get_job(self, public_id: str) -> JobView | None:
        return await self._run(self.history.get_job, public_id)

    async def job_with_message(self, message_id: int) -> JobView | None:
        """The job shown in this Discord message, if one is."""
        return await self._run(self.history.job_with_message, message_id)

    async def recent_jobs(self, user_id: int, limit: int = 10) -> list[JobView]:
        return await self._run(self.history.recent_jobs, user_id, limit)

    async def image(self, public_id: str, index: int) -> ImageRecord | None:
        """Image `index` (1-based, as on the U buttons) of a finished job; its path is absolute."""
        return await self._run(self.history.image, public_id, index)

    async def parent_chain(self, public_id: str) -> list[JobView]:
        return await self._run(self.history.parent_chain, public_id)

    async def undelivered_jobs(self) -> list[JobView]:
        """Jobs whose final message is not on Discord yet, oldest first, so a restarted bot finishes them."""
        return await self._run(self.history.undelivered_jobs)

    async def attach_message(self, public_id: str, channel_id: int, message_id: int) -> bool:
        return await self._run(self.history.attach_message, public_id, channel_id, message_id)

    async def user_settings(self, user_id: int) -> UserSettingsView:
        return await self._run(self.history.user_settings, user_id)

    async def set_user_settings(self, user_id: int, change: SettingsChange) -> UserSettingsView:
        return await self._run(self.history.set_user_settings, user_id, change)

    async def guild_config(self, guild_id: int) -> GuildConfigView:
        return await self._run(self.history.guild_config, guild_id)

    async def set_guild_config(self, guild_id: int, **changes: Any) -> GuildConfigView:
        """Keyword arguments as in `History.set_guild_config`."""
        return await self._run(self.history.set_guild_config, guild_id, **changes)

    # what operators see (docs/operations.md)

    def register_metrics(self, registry: CollectorRegistry) -> None:
        """Report the queue's numbers on `registry`; once, before `start()`. Its counts are read on the
        database thread when Prometheus scrapes, like every other database read of the service."""

        def stored() -> StoredCounts:
            return self._database.submit(count_stored, self._sessions).result()

        self._metrics = JobMetrics(registry, stored=stored, workers=self._workers, data_dir=self.settings.data_dir)
        self._hub.observe(self._metrics.observe)

    async def device_states(self) -> dict[str, DeviceState]:
        """Each device of this process and where its engine stands; empty for a submit-only client."""
        return {worker.device: worker.state for worker in self._workers()}

    def _workers(self) -> Sequence[DeviceWorker]:
        return self._processor.serving if self._processor is not None else ()

    # internals

    def _current_event(self, public_id: str) -> JobEvent | None:
        job = self.history.get_job(public_id)
        if job is None:
            return None
        match job.status:
            case JobStatus.QUEUED:
                return Accepted(self.queue.positions().get(public_id, 1))
            case JobStatus.RUNNING:
                return Started(job.device)
            case JobStatus.SUCCEEDED:
                return Finished(job)
            case JobStatus.FAILED:
                return Failed(job.error or "This job failed.")
        return Cancelled()
