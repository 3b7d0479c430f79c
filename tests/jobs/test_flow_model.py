"""FLUX.1- and SD3-family models through the real queue: registered with MODELS, run by an engine process,
batched, and every operation the bot offers on their images, with bit-exact reproduction."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bot import derive
from engine.flags import PromptDefaults, parse_prompt
from engine.request import Direction, GenerationRequest
from jobs import Failed, Finished, JobService, JobView
from tests.jobs.helpers import until_done
from tests.tiny_flow import save_tiny_flow_models


@pytest.fixture(scope="module")
def flow_folders(tmp_path_factory):
    return save_tiny_flow_models(tmp_path_factory.mktemp("flow"))


def sizes(job: JobView) -> list[tuple[int, int]]:
    return [Image.open(image.path).size for image in job.images]


async def finished(service: JobService, request: GenerationRequest, user: int = 1, **links) -> JobView:
    job = await service.submit(request, kind="imagine", user_id=user, raw_prompt=request.prompt, **links)
    assert isinstance((await until_done(service, job.public_id))[-1], Finished)
    return await service.get_job(job.public_id)


async def test_flux_jobs_share_a_batch_in_an_engine_process(job_settings, running_service, flow_folders, monkeypatch):
    monkeypatch.setenv("MODELS", f"flux={flow_folders['flux']}?size=64&steps=2&guidance=0")
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
    assert [sizes(job) for job in jobs] == [[(64, 64), (64, 64)]] * 2


@pytest.mark.parametrize("family", ["flux", "sd3"])
async def test_every_operation_of_the_bot_runs_on_a_transformer_model_through_the_queue(
    job_settings, running_service, flow_folders, monkeypatch, family
) -> None:
    monkeypatch.setenv("MODELS", f"{family}={flow_folders[family]}?size=64&steps=2")
    async with running_service(job_settings) as service:
        grid = await finished(service, GenerationRequest(prompt="a red fox", seed=5, count=2, model=family))
        image = grid.images[0]
        made = {
            "variation": derive.variation(grid.request, image, "subtle"),
            "upscale": derive.upscale(grid.request, image, "subtle"),
            "zoom": derive.zoom_out(grid.request, image),
            "pan": derive.pan(grid.request, image, Direction.RIGHT),
            "reproduce": derive.reproduce(grid.request, grid.images[1]),
        }
        jobs = {name: await finished(service, request, parent_job=grid.public_id) for name, request in made.items()}
    assert sizes(grid) == [(64, 64), (64, 64)]
    assert sizes(jobs["variation"])[0] == (64, 64) and sizes(jobs["zoom"])[0] == (64, 64)
    assert sizes(jobs["upscale"]) == [(128, 128)]
    assert sizes(jobs["pan"])[0][0] > 64
    [replayed] = jobs["reproduce"].images
    assert np.array_equal(np.asarray(Image.open(replayed.path)), np.asarray(Image.open(grid.images[1].path)))


async def test_a_settings_sampler_no_longer_fails_a_queued_flux_job_and_a_typed_one_says_which_flag(
    job_settings, running_service, flow_folders, monkeypatch
) -> None:
    """A member whose /settings sampler is ddim queues a FLUX job: it runs with the family's own sampler. The same
    sampler typed with --sampler fails the job, and the member is told it was the flag."""
    monkeypatch.setenv("MODELS", f"flux={flow_folders['flux']}?size=64&steps=2&guidance=0")
    defaults = PromptDefaults(sampler="ddim")
    settled = parse_prompt("a red fox --model flux", defaults).model_copy(update={"count": 1})
    typed = parse_prompt("a red fox --model flux --sampler ddim", defaults).model_copy(update={"count": 1})
    async with running_service(job_settings) as service:
        done = await finished(service, settled)
        job = await service.submit(typed, kind="imagine", user_id=1, raw_prompt=typed.prompt)
        failure = (await until_done(service, job.public_id))[-1]
    assert (done.request.sampler, done.request.default_sampler) == ("euler", None)
    assert isinstance(failure, Failed)
    assert failure.message.startswith("--sampler ddim is not available for FLUX.1 models; use --sampler euler")
