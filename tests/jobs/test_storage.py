"""The bot bounding its own disk: hidden jobs lose their files, old images are pruned, and a pruned job
still reproduces bit for bit from its record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select, update

from jobs import JobKind, JobSettings, JobStatus, QueueFull
from jobs.models import Job, utcnow
from tests.jobs.helpers import tiny_request, until_done


def pixels(path) -> bytes:
    with Image.open(path) as image:
        return image.tobytes()


async def test_retention_prunes_old_images_and_the_record_still_reproduces_them(
    job_settings: JobSettings, running_service
) -> None:
    settings = job_settings.model_copy(update={"retention_days": 7})
    async with running_service(settings) as service:
        old = await service.submit(tiny_request(count=2), kind=JobKind.IMAGINE, user_id=1, raw_prompt="a red fox")
        await until_done(service, old.public_id)  # alone, so its batch has the shape a replay of it has
        recent = await service.submit(tiny_request(seed=5), kind=JobKind.IMAGINE, user_id=1, raw_prompt="a fox")
        await until_done(service, recent.public_id)
        made = await service.get_job(old.public_id)
        original = [pixels(image.path) for image in made.images]
        with service.queue._sessions.begin() as session:  # eight days pass for the first job
            session.execute(
                update(Job).where(Job.public_id == old.public_id).values(finished_at=utcnow() - timedelta(days=8))
            )

        assert await service.prune() == 1
        assert await service.prune() == 0

        pruned = await service.get_job(old.public_id)
        assert pruned.images_pruned_at is not None and pruned.status is JobStatus.SUCCEEDED
        assert not any(image.path.exists() for image in pruned.images) and not pruned.grid_path.exists()
        kept = await service.get_job(recent.public_id)
        assert kept.images_pruned_at is None and all(image.path.exists() for image in kept.images)

        again = await service.submit(pruned.request, kind=JobKind.REPRODUCE, user_id=1, raw_prompt="a red fox")
        await until_done(service, again.public_id)
        assert [pixels(image.path) for image in (await service.get_job(again.public_id)).images] == original


async def test_retention_may_delete_the_records_too(job_settings: JobSettings, running_service) -> None:
    settings = job_settings.model_copy(update={"retention_days": 1, "retention_deletes_records": True})
    async with running_service(settings) as service:
        parent = await service.submit(tiny_request(), kind=JobKind.IMAGINE, user_id=1, raw_prompt="fox")
        await until_done(service, parent.public_id)
        child = await service.submit(
            tiny_request(seed=2), kind=JobKind.REROLL, user_id=1, raw_prompt="fox", parent_job=parent.public_id
        )
        await until_done(service, child.public_id)
        with service.queue._sessions.begin() as session:
            session.execute(
                update(Job).where(Job.public_id == parent.public_id).values(finished_at=utcnow() - timedelta(days=2))
            )
        assert await service.prune() == 1
        assert await service.get_job(parent.public_id) is None
        assert (await service.get_job(child.public_id)).parent_public_id is None  # the child lives on


async def test_a_hidden_job_loses_its_files_unless_the_operator_keeps_them(
    job_settings: JobSettings, running_service
) -> None:
    async with running_service(job_settings) as service:
        first = await service.submit(tiny_request(), kind=JobKind.IMAGINE, user_id=1, raw_prompt="fox")
        second = await service.submit(tiny_request(seed=9), kind=JobKind.IMAGINE, user_id=1, raw_prompt="fox")
        await until_done(service, first.public_id)
        await until_done(service, second.public_id)

        hidden = await service.hide(first.public_id, by=42)
        assert hidden.hidden_at is not None
        stored = await service.get_job(first.public_id)
        assert stored.hidden_at == hidden.hidden_at and not stored.grid_path.exists()
        assert await service.hide("nosuchjob0", by=42) is None
        service.storage._settings = job_settings.model_copy(update={"keep_deleted_images": True})
        await service.hide(second.public_id, by=42)
        kept = await service.get_job(second.public_id)
        assert kept.hidden_at is not None and kept.grid_path.exists()


async def test_storage_quotas_refuse_new_jobs_until_images_are_deleted(
    job_settings: JobSettings, running_service
) -> None:
    settings = job_settings.model_copy(
        update={"storage_quota_per_member_mb": 0.001, "storage_quota_per_server_mb": 0.001}  # 1 KiB: one job passes
    )
    async with running_service(settings) as service:

        async def submit(user_id: int, guild_id: int | None = 7):
            return await service.submit(
                tiny_request(), kind=JobKind.IMAGINE, user_id=user_id, guild_id=guild_id, raw_prompt="a fox"
            )

        first = await submit(1)
        await until_done(service, first.public_id)
        kept = await service.get_job(first.public_id)
        on_disk = sum(path.stat().st_size for path in kept.grid_path.parent.iterdir())
        with service.queue._sessions.begin() as session:
            recorded = session.scalar(select(Job.stored_bytes).where(Job.public_id == first.public_id))
        assert recorded == on_disk > 1024

        with pytest.raises(QueueFull, match=r"Your images take 0.0\d MB, and the bot keeps at most 0.001 MB"):
            await submit(1)
        with pytest.raises(QueueFull, match="This server's images take 0.0"):
            await submit(2)  # another member of the same server
        await submit(3, guild_id=8)  # another server is not concerned

        await service.hide(first.public_id, by=1)  # 🗑️ gives the room back
        await submit(1)
        await submit(2)
