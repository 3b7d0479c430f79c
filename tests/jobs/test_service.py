"""Submitting, following and reading back jobs through JobService, as the bot does."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import subprocess
import sys

import pytest

from engine.request import GenerationRequest
from jobs import (
    Accepted,
    Cancelled,
    Finished,
    JobKind,
    JobService,
    JobSettings,
    JobStatus,
    PositionChanged,
    ProgressEvent,
    QueueFull,
    Started,
)
from jobs.states import VariationMode
from jobs.views import SettingsChange
from tests.jobs.helpers import EVENT_TIMEOUT, tiny_request, until_done
from tests.paths import REPO_ROOT


async def test_a_job_is_stored_before_submit_returns_and_delivers_its_images(
    database_url, data_dir, running_service
) -> None:
    settings = JobSettings(database_url=database_url, data_dir=data_dir, engine_devices=("cpu",))
    async with running_service(settings) as service:
        job = await service.submit(tiny_request(count=2), kind=JobKind.IMAGINE, user_id=7, raw_prompt="a red fox")
        assert (await service.get_job(job.public_id)).status in (JobStatus.QUEUED, JobStatus.RUNNING)

        events = await until_done(service, job.public_id)

        assert isinstance(events[0], (Accepted, Started))
        assert any(isinstance(event, ProgressEvent) for event in events)
        finished = events[-1]
        assert isinstance(finished, Finished) and finished.grid_path.exists()
        stored = await service.get_job(job.public_id)
        assert stored.status is JobStatus.SUCCEEDED
        assert stored.request.is_resolved and stored.attempts == 1
        assert [image.index for image in stored.images] == [1, 2]
        assert [image.seed for image in stored.images] == [1, 2]
        for image, path in zip(stored.images, finished.image_paths, strict=True):
            assert image.path == path
            assert hashlib.sha256(path.read_bytes()).hexdigest() == image.sha256
            assert path.parent == data_dir / "images" / job.public_id
        assert await service.image(job.public_id, 2) == stored.images[1]

        late = await until_done(service, job.public_id)
        assert late == [finished]


async def test_submit_commits_before_returning(job_settings: JobSettings, sqlite_url: str) -> None:
    service = JobService(job_settings, process_jobs=False)
    await service.start()
    job = await service.submit(tiny_request(), kind="imagine", user_id=1, raw_prompt="a red fox")
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as other_connection:
        rows = other_connection.execute("SELECT status, user_id FROM jobs WHERE public_id = ?", (job.public_id,))
        assert rows.fetchall() == [("queued", 1)]
    await service.stop()


def standard(prompt: str = "fox", **fields) -> GenerationRequest:
    """Four images at the model's default steps: one unit against the caps."""
    return GenerationRequest(prompt=prompt, **fields)


async def test_caps_refuse_politely(job_settings: JobSettings) -> None:
    settings = job_settings.model_copy(update={"max_queued_per_user": 2, "max_queue_length": 3})
    service = JobService(settings, process_jobs=False)
    await service.start()
    for _ in range(2):
        await service.submit(standard(), kind="imagine", user_id=1, raw_prompt="fox")
    with pytest.raises(QueueFull, match="You already have 2 jobs waiting"):
        await service.submit(standard(), kind="imagine", user_id=1, raw_prompt="fox")
    await service.submit(standard(), kind="imagine", user_id=2, raw_prompt="fox")
    with pytest.raises(QueueFull, match=r"The queue is full right now \(3 jobs waiting\)"):
        await service.submit(standard(), kind="imagine", user_id=3, raw_prompt="fox")
    assert (await service.stats()).queue_length == 3
    await service.stop()


async def test_caps_weigh_jobs_by_their_cost(job_settings: JobSettings) -> None:
    """Sixteen images at 150 steps weigh twenty standard jobs; a one-image 15-step job one eighth."""
    service = JobService(job_settings, process_jobs=False)
    await service.start()
    with pytest.raises(QueueFull, match="this one counts as 20"):
        await service.submit(standard(count=16, steps=150), kind="imagine", user_id=1, raw_prompt="fox")
    small = await service.submit(standard(count=1, steps=15), kind="imagine", user_id=1, raw_prompt="fox")
    assert small.cost == 0.125
    for _ in range(9):
        await service.submit(standard(), kind="imagine", user_id=1, raw_prompt="fox")
    with pytest.raises(QueueFull, match="You already have 9.125 jobs waiting"):
        await service.submit(standard(), kind="imagine", user_id=1, raw_prompt="fox")
    await service.stop()


async def test_one_server_may_fill_only_its_share_of_the_queue(job_settings: JobSettings) -> None:
    settings = job_settings.model_copy(update={"max_queue_length": 4, "max_queue_share_per_server": 0.5})
    service = JobService(settings, process_jobs=False)
    await service.start()
    for user in (1, 2):  # two accounts of one server
        await service.submit(standard(), kind="imagine", user_id=user, guild_id=10, raw_prompt="fox")
    with pytest.raises(QueueFull, match="This server already has 2 jobs waiting"):
        await service.submit(standard(), kind="imagine", user_id=3, guild_id=10, raw_prompt="fox")
    await service.submit(standard(), kind="imagine", user_id=4, guild_id=20, raw_prompt="fox")  # another server
    await service.stop()


async def test_new_jobs_are_refused_while_the_disk_is_nearly_full(job_settings: JobSettings, caplog) -> None:
    settings = job_settings.model_copy(update={"min_free_disk_mb": 10**12})  # more than any disk has
    service = JobService(settings, process_jobs=False)
    await service.start()
    with pytest.raises(QueueFull, match="disk is nearly full"):
        await service.submit(standard(), kind="imagine", user_id=1, raw_prompt="fox")
    assert "refusing new jobs" in caplog.text
    await service.stop()


@pytest.mark.postgres
async def test_concurrent_submits_on_postgresql_cannot_pass_the_cap(postgres_url: str, data_dir) -> None:
    """Thirty presses at once by one member, on eight database threads: exactly the cap gets in."""
    settings = JobSettings(_env_file=None, database_url=postgres_url, data_dir=data_dir, max_queued_per_user=5)
    service = JobService(settings, process_jobs=False)
    await service.start()
    outcomes = await asyncio.gather(
        *(service.submit(standard(), kind="imagine", user_id=1, raw_prompt="fox") for _ in range(30)),
        return_exceptions=True,
    )
    assert sum(not isinstance(outcome, Exception) for outcome in outcomes) == 5
    assert all(isinstance(outcome, QueueFull) for outcome in outcomes if isinstance(outcome, Exception))
    assert (await service.stats()).queue_length == 5
    await service.stop()


async def test_cancelling_a_queued_job_is_immediate_and_only_for_its_owner(job_settings: JobSettings) -> None:
    service = JobService(job_settings, process_jobs=False)
    await service.start()
    first = await service.submit(tiny_request(), kind="imagine", user_id=1, raw_prompt="fox")
    second = await service.submit(tiny_request(), kind="imagine", user_id=1, raw_prompt="fox")

    assert not await service.cancel(first.public_id, user_id=2)
    assert await service.cancel(first.public_id, user_id=1)
    assert not await service.cancel(first.public_id, user_id=1)

    assert await until_done(service, first.public_id) == [Cancelled()]
    assert (await service.get_job(first.public_id)).status is JobStatus.CANCELLED
    stats = await service.stats()
    assert stats.queue_length == 1 and stats.positions_by_user == {1: (1,)}
    assert [job.public_id for job in service.queue.waiting()] == [second.public_id]
    await service.stop()


async def test_history_settings_and_message_links(job_settings: JobSettings) -> None:
    service = JobService(job_settings, process_jobs=False)
    await service.start()
    root = await service.submit(tiny_request(), kind="imagine", user_id=5, raw_prompt="fox", guild_id=9)
    child = await service.submit(
        tiny_request(seed=3),
        kind=JobKind.REROLL,
        user_id=5,
        raw_prompt="fox",
        parent_job=root.public_id,
        parent_index=2,
    )
    assert [job.public_id for job in await service.parent_chain(child.public_id)] == [child.public_id, root.public_id]
    assert (await service.get_job(child.public_id)).parent_index == 2
    assert [job.public_id for job in await service.recent_jobs(5, limit=1)] == [child.public_id]
    assert await service.get_job("nosuchjob0") is None

    assert await service.attach_message(root.public_id, channel_id=2**62, message_id=2**63 - 1)
    stored = await service.get_job(root.public_id)
    assert (stored.channel_id, stored.message_id, stored.guild_id) == (2**62, 2**63 - 1, 9)

    assert (await service.user_settings(5)).others_may_use_buttons is True
    first = await service.set_user_settings(5, SettingsChange(defaults={"aspect": "16:9"}))
    assert first.others_may_use_buttons is True
    updated = await service.set_user_settings(5, SettingsChange(others_may_use_buttons=False, remix=True))
    assert updated.defaults == {"aspect": "16:9"} and updated.others_may_use_buttons is False and updated.remix
    assert updated.variation_mode is VariationMode.STRONG and not updated.private_results
    assert await service.user_settings(5) == updated

    config = await service.set_guild_config(9, allowed_channel_ids=[2**62], banned_words=["gore"], admin_role_id=4)
    assert config.allowed_channel_ids == (2**62,) and config.banned_words == ("gore",)
    assert (await service.set_guild_config(9, clear_admin_role=True)).admin_role_id is None
    assert (await service.guild_config(9)).banned_words == ("gore",)
    await service.stop()


def test_importing_jobs_leaves_torch_unloaded() -> None:
    """The bot imports jobs; it must not pay for (or need) torch."""
    check = "import sys, jobs, jobs.__main__; sys.exit('torch' in sys.modules or 'diffusers' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", check], cwd=REPO_ROOT).returncode == 0


async def test_a_waiting_job_hears_when_its_place_in_line_moves(job_settings: JobSettings) -> None:
    service = JobService(job_settings, process_jobs=False)
    await service.start()
    first = await service.submit(tiny_request(), kind="imagine", user_id=1, raw_prompt="fox")
    second = await service.submit(tiny_request(), kind="imagine", user_id=1, raw_prompt="fox")
    events = service.events(second.public_id)
    assert await asyncio.wait_for(anext(events), EVENT_TIMEOUT) == Accepted(2)

    await service.submit(tiny_request(), kind="imagine", user_id=2, raw_prompt="cat")  # round-robin: goes ahead
    assert await asyncio.wait_for(anext(events), EVENT_TIMEOUT) == PositionChanged(3)
    await service.cancel(first.public_id, user_id=1)  # neither user served yet: the older job goes first
    assert await asyncio.wait_for(anext(events), EVENT_TIMEOUT) == PositionChanged(1)
    await service.cancel(second.public_id, user_id=1)
    assert await asyncio.wait_for(anext(events), EVENT_TIMEOUT) == Cancelled()
    await events.aclose()
    await service.stop()
