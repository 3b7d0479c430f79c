"""An engine process that stops reporting is killed and started again; its job runs on its next attempt."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from pathlib import Path

from engine.engine import Engine
from jobs import Finished
from tests.jobs.helpers import engine_factory, submit_all, until_done


class HangsOnceEngine(Engine):
    """The first generation stops dead after its first step (a stuck driver, a deadlock); later ones run."""

    def __init__(self, *, device: str, folder: str) -> None:
        super().__init__(device=device)
        self.hung_once = Path(folder) / "hung-once"

    def run(self, request, *, on_progress=None, **options):
        def step(progress):
            if on_progress:
                on_progress(progress)
            if not self.hung_once.exists():
                self.hung_once.touch()
                time.sleep(3600)

        return super().run(request, on_progress=step, **options)


async def test_a_silent_engine_process_is_restarted_and_its_job_completes(
    job_settings, running_service, tmp_path
) -> None:
    settings = job_settings.model_copy(update={"engine_watchdog_seconds": 2.0})
    [public_id] = await submit_all(settings, [(1, "a fox")])
    factory = engine_factory(HangsOnceEngine, folder=str(tmp_path))
    async with running_service(settings, engine_factory=factory) as service:
        following = asyncio.create_task(until_done(service, public_id))
        while not (tmp_path / "hung-once").exists():
            await asyncio.sleep(0.05)
        [hung] = multiprocessing.active_children()
        events = await following
        job = await service.get_job(public_id)
        [restarted] = multiprocessing.active_children()
    assert restarted.pid != hung.pid and not hung.is_alive()
    assert isinstance(events[-1], Finished)
    assert job.attempts == 2 and len(job.images) == 1
