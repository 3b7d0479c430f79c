"""Members alternating between two registered models: the queue lets jobs for the loaded model go first (a
little), so one device with room for one model loads each model once instead of once per job."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.default_model import DEFAULT_MODEL_FOLDER
from engine.engine import Engine
from engine.request import GenerationRequest
from engine.settings import EngineSettings
from jobs import Finished, JobService
from tests.jobs.helpers import engine_factory, until_done

MODELS = f"copy={DEFAULT_MODEL_FOLDER}"


class CountingEngine(Engine):
    """Writes the name of every model it loads to a file (it lives in another process)."""

    def __init__(self, *, device: str, load_log: str) -> None:
        super().__init__(EngineSettings(_env_file=None, models=MODELS, max_loaded_models=1), device=device)
        load = self.models._load

        def counted(entry):
            with Path(load_log).open("a") as log:
                log.write(f"{entry.name}\n")
            return load(entry)

        self.models._load = counted


async def loads_for_alternating_jobs(settings, running_service, tmp_path, patience: int) -> list[str]:
    settings = settings.model_copy(update={"model_switch_patience": patience, "max_batch_images": 1})
    client = JobService(settings, process_jobs=False)
    await client.start()
    ids = []
    for number in range(6):  # two members, each with their own model, taking turns
        user, model = (1, None) if number % 2 == 0 else (2, "copy")
        request = GenerationRequest(prompt="a red circle", steps=2, seed=number, count=1, model=model)
        ids.append((await client.submit(request, kind="imagine", user_id=user, raw_prompt="x")).public_id)
    await client.stop()
    load_log = tmp_path / f"loads-{patience}.txt"
    factory = engine_factory(CountingEngine, load_log=str(load_log))
    async with running_service(settings, engine_factory=factory) as service:
        for public_id in ids:
            assert isinstance((await until_done(service, public_id))[-1], Finished)
    return load_log.read_text().split()


@pytest.mark.parametrize("patience, loads", [(4, ["default", "copy"]), (0, ["default", "copy"] * 3)])
async def test_alternating_models_load_once_each_instead_of_once_per_job(
    job_settings, running_service, tmp_path, patience, loads
) -> None:
    assert await loads_for_alternating_jobs(job_settings, running_service, tmp_path, patience) == loads
