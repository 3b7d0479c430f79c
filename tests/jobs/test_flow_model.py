"""A FLUX.1-family model through the real queue: registered with MODELS, run by an engine process, batched."""

from __future__ import annotations

import pytest
from PIL import Image

from engine.request import GenerationRequest
from jobs import Finished, JobService
from tests.jobs.helpers import until_done
from tests.tiny_flow import save_tiny_flow_models


@pytest.fixture(scope="module")
def flux_folder(tmp_path_factory):
    return save_tiny_flow_models(tmp_path_factory.mktemp("flux"))["flux"]


async def test_flux_jobs_share_a_batch_in_an_engine_process(job_settings, running_service, flux_folder, monkeypatch):
    monkeypatch.setenv("MODELS", f"flux={flux_folder}?size=64&steps=2&guidance=0")
    client = JobService(job_settings, process_jobs=False)
    await client.start()
    ids = []
    for user, prompt in ((1, "a red fox"), (2, "a cat in snow")):
        request = GenerationRequest(prompt=prompt, seed=user, count=2, model="flux")
        ids.append((await client.submit(request, kind="imagine", user_id=user, raw_prompt=prompt)).public_id)
    await client.stop()
    async with running_service(job_settings) as service:
        for public_id in ids:
            assert isinstance((await until_done(service, public_id))[-1], Finished)
        jobs = [await service.get_job(public_id) for public_id in ids]
    assert len({job.batch_id for job in jobs}) == 1
    assert [job.request.sampler for job in jobs] == ["euler", "euler"]
    for job in jobs:
        assert [Image.open(image.path).size for image in job.images] == [(64, 64), (64, 64)]
