"""An engine process that stops reporting is killed and started again; its job runs on its next attempt."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from pathlib import Path

from engine.engine import Engine
from jobs import Finished
from tests.jobs.helpers import EVENT_TIMEOUT, engine_factory, submit_all, until, until_done
from tests.processes import alive

# Short, so that the hung engine process is found at once. It is raised once that one has been killed: the attempt
# after it is an ordinary generation, which a loaded 2-core machine can leave silent for longer than this.
HANG_NOTICED_AFTER = 2.0


class HangsOnceEngine(Engine):
    """The first generation stops dead after its first step (a stuck driver, a deadlock), after writing its process id
    to `hung-once`; later ones run."""

    def __init__(self, *, device: str, folder: str) -> None:
        super().__init__(device=device)
        self.hung_once = Path(folder) / "hung-once"

    def run(self, request, *, on_progress=None, **options):
        def step(progress):
            if on_progress:
                on_progress(progress)
            if not self.hung_once.exists():
                written = self.hung_once.with_name(f"hung-once.{os.getpid()}")  # renamed: never read half-written
                written.write_text(str(os.getpid()))
                written.replace(self.hung_once)
                time.sleep(3600)

        return super().run(request, on_progress=step, **options)


async def test_a_silent_engine_process_is_restarted_and_its_job_completes(
    job_settings, running_service, tmp_path
) -> None:
    settings = job_settings.model_copy(update={"engine_watchdog_seconds": HANG_NOTICED_AFTER})
    [public_id] = await submit_all(settings, [(1, "a fox")])
    factory = engine_factory(HangsOnceEngine, folder=str(tmp_path))
    async with running_service(settings, engine_factory=factory) as service:
        following = asyncio.create_task(until_done(service, public_id))
        await until((tmp_path / "hung-once").exists)
        hung = int((tmp_path / "hung-once").read_text())
        await until(lambda: not alive(hung))  # the watchdog killed it
        settings.engine_watchdog_seconds = EVENT_TIMEOUT  # the service reads its settings as it goes
        events = await following
        job = await service.get_job(public_id)
        [restarted] = multiprocessing.active_children()
    assert restarted.pid != hung and not alive(hung)
    assert isinstance(events[-1], Finished)
    assert job.attempts == 2 and len(job.images) == 1
