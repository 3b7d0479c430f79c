"""Image prompts members gave (DATA_DIR/sources/) leave the disk once no job that may still be reproduced names
them, and never while one does: refused uploads, jobs deleted with 🗑️ and records deleted by retention free
them; a pruned job's record, a live job sharing the file, a file stored within the hour and KEEP_DELETED_IMAGES
keep them. The images of earlier jobs that variations, upscales, zooms and pans start from are kept there too,
copied at submit, so pruning or deleting the parent leaves its derived jobs reproducible."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select, update

from bot import derive
from bot.errors import describe
from engine.request import GenerationRequest, Operation
from jobs import JobKind, JobService, JobSettings, JobStatus, sql_queue, storage
from jobs.admission import PARENT_IMAGE_GONE, check_sources
from jobs.database import make_engine, make_session_factory, upgrade_to_head
from jobs.events import EventHub
from jobs.models import Job, JobSource, UncopiedSource, utcnow
from jobs.queue import NewJob, SourceGone
from jobs.results import JobResult, result_folder
from jobs.sources import ASIDE_SUFFIX, GRACE, SweptSources, remove_if_stale, sources_folder
from jobs.sql_queue import SqlJobQueue
from jobs.storage import Storage
from tests.jobs.helpers import until_done

OLD = GRACE + timedelta(minutes=5)
YOUNG = GRACE - timedelta(minutes=5)


@dataclass
class Bot:
    """The queue and the storage of one bot, on a real database, with no engine: jobs are finished by hand."""

    queue: SqlJobQueue
    storage: Storage
    data_dir: Path

    def store(self, content: str, age: timedelta = OLD) -> Path:
        """A stored image prompt, as `bot.image_prompts` names it, last written `age` ago."""
        data = content.encode()
        path = sources_folder(self.data_dir).resolve() / f"{hashlib.sha256(data).hexdigest()}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        age_file(path, age)
        return path

    def submit(self, *sources: Path, describe: bool = False) -> str:
        """An /imagine (from these image prompts), or a /describe of the first."""
        if describe:
            request = GenerationRequest(operation=Operation.DESCRIBE, prompt="", source_image=str(sources[0]))
        else:
            request = GenerationRequest(prompt="a fox", seed=1, count=1, image_prompts=tuple(map(str, sources)))
        kind = JobKind.DESCRIBE if describe else JobKind.IMAGINE
        return self.queue.submit(NewJob(request, kind, 1, "a fox")).public_id

    def finish(self, public_id: str, *, days_ago: float = 0) -> None:
        [claimed] = self.queue.claim_next(device="cpu", batch_id="b", max_batch_images=1)
        assert claimed.public_id == public_id
        self.queue.finish(public_id, JobResult(claimed.parameters, None, (), "default", 1))
        with self.queue._sessions.begin() as session:
            finished = utcnow() - timedelta(days=days_ago)
            session.execute(update(Job).where(Job.public_id == public_id).values(finished_at=finished))

    def parent(self, content: str, *, days_ago: float = 0) -> tuple[str, Path]:
        """A finished job and its first image (bytes of our choosing), where the engine would have saved it."""
        public_id = self.submit()
        self.finish(public_id, days_ago=days_ago)
        image = result_folder(self.data_dir, public_id).resolve() / "1.png"
        image.parent.mkdir(parents=True)
        image.write_bytes(content.encode())
        return public_id, image

    def derive(self, image: Path, parent: str | None = None, kind: JobKind = JobKind.VARIATION) -> str:
        """What V1 under `image` submits (`bot.derive` names the image where its job keeps it)."""
        request = variation_of(image)
        return self.queue.submit(NewJob(request, kind, 1, "a fox", parent_public_id=parent)).public_id

    def again(self, public_id: str) -> str:
        """What 🔄 and /reproduce submit: the stored request."""
        return self.queue.submit(NewJob(self.request(public_id), JobKind.REPRODUCE, 1, "a fox")).public_id

    def request(self, public_id: str) -> GenerationRequest:
        with self.queue._sessions.begin() as session:
            return GenerationRequest.model_validate(
                session.scalar(select(Job.parameters).where(Job.public_id == public_id))
            )

    def as_before_0009(self, public_id: str, image: Path) -> None:
        """The job as a bot before revision 0009 stored it (naming the parent's own file) and the revision listed it."""
        with self.queue._sessions.begin() as session:
            job = session.scalar(select(Job).where(Job.public_id == public_id))
            job.parameters = {**job.parameters, "source_image": str(image)}
            job.sources = []
            session.add(UncopiedSource(job_id=job.id))

    def with_settings(self, **changes) -> Bot:
        settings = self.storage._settings.model_copy(update=changes)
        return Bot(self.queue, Storage(self.queue._sessions, settings), self.data_dir)

    def references(self) -> list[str]:
        with self.queue._sessions.begin() as session:
            return list(session.scalars(select(JobSource.name)))


def variation_of(image: Path) -> GenerationRequest:
    return GenerationRequest(
        operation=Operation.VARIATION, prompt="a fox", mode="strong", seed=2, count=1, source_image=str(image)
    )


def age_file(path: Path, age: timedelta) -> None:
    moment = time.time() - age.total_seconds()
    os.utime(path, (moment, moment))


@pytest.fixture
def bot(database_url: str, tmp_path: Path) -> Iterator[Bot]:
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    background = ThreadPoolExecutor(1)
    data_dir = tmp_path / "data"
    settings = JobSettings(_env_file=None, database_url=database_url, data_dir=data_dir, min_free_disk_mb=0)
    sessions = make_session_factory(engine)
    try:
        yield Bot(SqlJobQueue(sessions, settings, EventHub(), background), Storage(sessions, settings), data_dir)
    finally:
        background.shutdown()
        engine.dispose()


def test_orphans_older_than_the_grace_period_go_and_young_ones_stay(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    """An image refused at admission (a cap, a cooldown, a banned word) is stored before it is refused."""
    refused, just_given, used = bot.store("refused"), bot.store("just given", YOUNG), bot.store("used")
    half_written = refused.with_suffix(".part")  # a store that crashed while writing
    half_written.write_bytes(b"half")
    age_file(half_written, OLD)
    bot.submit(used)

    with caplog.at_level(logging.INFO, logger="jobs.storage"):
        swept = bot.storage.sweep_sources()

    assert swept == SweptSources(files=2, bytes=len("refused") + len("half"))
    assert not refused.exists() and not half_written.exists() and just_given.exists() and used.exists()
    assert "removed 2 image prompts (0.0 MB)" in caplog.text
    assert bot.storage.sweep_sources() == SweptSources()  # nothing logged when nothing goes
    age_file(just_given, OLD)
    assert bot.storage.sweep_sources() == SweptSources(files=1, bytes=len("just given"))


def test_a_source_goes_with_the_last_job_that_names_it_deleted_with_the_bin(bot: Bot) -> None:
    shared, own = bot.store("shared"), bot.store("own")
    first = bot.submit(shared, own, shared)  # a blend may name one image twice
    second = bot.submit(shared, describe=True)
    assert sorted(bot.references()) == sorted([shared.name, own.name, shared.name])

    bot.storage.hide(first, by=1)  # 🗑️ sweeps the job's own sources at once
    assert shared.exists() and not own.exists()
    bot.storage.hide(second, by=1)
    assert not shared.exists()


def test_keep_deleted_images_keeps_a_hidden_jobs_sources(bot: Bot) -> None:
    source = bot.store("kept for an appeal")
    keeping = bot.with_settings(keep_deleted_images=True)
    keeping.storage.hide(keeping.submit(source), by=1)
    assert keeping.storage.sweep_sources() == SweptSources() and source.exists()
    assert bot.storage.sweep_sources().files == 1 and not source.exists()  # the operator stopped keeping them


def test_a_young_source_of_a_deleted_job_waits_for_the_hourly_sweep(bot: Bot) -> None:
    """Someone may be submitting a new job with the same image right now: it stays until it is old."""
    source = bot.store("just given", YOUNG)
    bot.storage.hide(bot.submit(source), by=1)
    assert source.exists()
    age_file(source, OLD)
    assert bot.storage.sweep_sources().files == 1 and not source.exists()


def test_a_pruned_jobs_record_keeps_its_source_and_can_be_made_again(bot: Bot) -> None:
    retention = bot.with_settings(retention_days=7)
    source = bot.store("a fox photo")
    job = retention.submit(source)
    retention.finish(job, days_ago=8)
    assert retention.storage.prune() == 1
    assert retention.storage.sweep_sources() == SweptSources() and source.exists()

    retention.submit(source)  # what /reproduce and 🔄 submit: the stored request's paths
    assert retention.references() == [source.name, source.name]


def test_records_deleted_by_retention_free_their_sources(bot: Bot) -> None:
    deleting = bot.with_settings(retention_days=1, retention_deletes_records=True)
    old, recent = deleting.store("old"), deleting.store("recent")
    deleting.finish(deleting.submit(old), days_ago=2)
    deleting.finish(deleting.submit(recent))
    assert deleting.storage.prune() == 1
    assert deleting.references() == [recent.name]  # the rows went with the job's
    assert deleting.storage.sweep_sources().files == 1 and not old.exists() and recent.exists()


def test_a_job_naming_a_source_already_swept_is_refused(bot: Bot) -> None:
    """🔄 pressed the moment the owner deleted the job: the sweep went first, so the reroll is refused with a
    message instead of being admitted to fail in the engine."""
    source = bot.store("gone")
    job = bot.submit(source)
    bot.storage.hide(job, by=1)
    with pytest.raises(SourceGone, match="Attach the image"):
        bot.submit(source)
    elsewhere = bot.data_dir.parent / "sources" / source.name  # not this bot's sources: not its business
    bot.submit(elsewhere)


def test_a_sweep_waits_for_a_submit_in_progress_and_sees_its_references(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A submit has checked that its image is stored and not yet committed: a sweep that read the references now
    would take the file for an orphan, and the job would be admitted naming a file that is gone."""
    source = bot.store("being submitted")
    checked = threading.Event()

    def check_then_dawdle(data_dir: Path, job: NewJob) -> None:
        check_sources(data_dir, job)
        checked.set()
        time.sleep(0.5)

    monkeypatch.setattr(sql_queue, "check_sources", check_then_dawdle)
    with ThreadPoolExecutor(1) as submitter:
        submitted = submitter.submit(bot.submit, source)
        assert checked.wait(10)
        assert bot.storage.sweep_sources() == SweptSources()
        submitted.result()
    assert source.exists() and bot.references() == [source.name]


def test_a_file_given_again_while_the_sweep_looks_at_it_stays(bot: Bot) -> None:
    """The member's image is stored again (its time refreshed) after the sweep listed it as old: moved aside, the
    file's time is read again and it goes back."""
    source = bot.store("given again")
    cutoff = time.time() - GRACE.total_seconds()
    os.utime(source)  # `bot.image_prompts` storing the same image again
    assert remove_if_stale(source, cutoff) is None and source.read_bytes() == b"given again"
    age_file(source, OLD)
    assert remove_if_stale(source, cutoff) == len("given again") and not source.exists()
    assert remove_if_stale(source, cutoff) is None  # another sweep took it first


def test_a_file_a_crashed_sweep_left_aside_comes_back(bot: Bot) -> None:
    source = bot.store("needed")
    bot.submit(source)
    source.rename(source.with_name(source.name + ASIDE_SUFFIX))
    bot.store("an orphan")  # something to sweep, so the sweep takes the lock
    bot.storage.sweep_sources()
    assert source.read_bytes() == b"needed"


async def test_reproducing_a_pruned_image_prompt_job_after_the_sweep_makes_the_same_pixels(
    job_settings: JobSettings, running_service: Callable
) -> None:
    """With the engine (SQLite only): the source a pruned record names survives the sweep and starts the same
    image again."""
    source = sources_folder(job_settings.data_dir).resolve() / "photo.png"
    source.parent.mkdir(parents=True)
    Image.new("RGB", (64, 64), (200, 60, 20)).save(source)  # just given: the sweep at start-up spares it
    request = GenerationRequest(prompt="a red fox", steps=2, seed=3, count=1, image_prompts=(str(source),))
    async with running_service(job_settings.model_copy(update={"retention_days": 1})) as service:
        made = await service.submit(request, kind=JobKind.IMAGINE, user_id=1, raw_prompt="a red fox")
        await until_done(service, made.public_id)
        original = await service.get_job(made.public_id)
        with Image.open(original.images[0].path) as image:
            pixels = image.tobytes()
        with service.queue._sessions.begin() as session:
            past = utcnow() - timedelta(days=2)
            session.execute(update(Job).where(Job.public_id == made.public_id).values(finished_at=past))
        assert await service.prune() == 1
        age_file(source, OLD)
        assert await service.sweep_sources() == SweptSources() and source.exists()

        pruned = await service.get_job(made.public_id)
        again = await service.submit(pruned.request, kind=JobKind.REPRODUCE, user_id=1, raw_prompt="a red fox")
        await until_done(service, again.public_id)
        remade = await service.get_job(again.public_id)
    assert remade.status is JobStatus.SUCCEEDED
    with Image.open(remade.images[0].path) as image:
        assert image.tobytes() == pixels


def test_a_derived_job_starts_from_a_copy_of_its_parents_image_kept_once(bot: Bot) -> None:
    parent, image = bot.parent("a fox grid")
    first, second = bot.derive(image, parent), bot.derive(image, parent, JobKind.UPSCALE)
    copy = sources_folder(bot.data_dir).resolve() / f"{hashlib.sha256(b'a fox grid').hexdigest()}.png"
    assert bot.request(first).source_image == bot.request(second).source_image == str(copy)
    assert copy.read_bytes() == b"a fox grid" and bot.references() == [copy.name, copy.name]
    assert copy.stat().st_ino == image.stat().st_ino  # a hard link: no bytes twice while the parent keeps its file
    assert not list(copy.parent.glob("*.part"))


def test_a_parent_pruned_by_retention_leaves_its_derived_jobs_reproducible(bot: Bot) -> None:
    retention = bot.with_settings(retention_days=7)
    parent, image = retention.parent("an old grid", days_ago=8)
    derived = retention.derive(image, parent)
    retention.finish(derived)
    assert retention.storage.prune() == 1 and not image.exists()

    copy = Path(retention.request(derived).source_image)
    age_file(copy, OLD)
    assert retention.storage.sweep_sources() == SweptSources() and copy.read_bytes() == b"an old grid"
    assert retention.request(retention.again(derived)).source_image == str(copy)


def test_a_deleted_parent_leaves_its_derived_jobs_until_they_are_deleted_too(bot: Bot) -> None:
    """A derived job is an image of its own, with its own message: deleting the grid it came from does not delete
    it, and it stays reproducible until it is deleted with 🗑️ itself. New ones cannot be made from the deleted
    grid (its buttons are refused: `bot.rules`), and its own folder goes at once."""
    parent, image = bot.parent("a grid a moderator deleted")
    derived = bot.derive(image, parent)
    bot.storage.hide(parent, by=2)
    assert not image.exists()
    copy = Path(bot.request(derived).source_image)
    age_file(copy, OLD)
    assert bot.storage.sweep_sources() == SweptSources() and copy.exists()
    reroll = bot.again(derived)

    bot.storage.hide(derived, by=2)
    assert copy.exists()  # the reroll still names it
    bot.storage.hide(reroll, by=1)
    assert not copy.exists()
    with pytest.raises(SourceGone) as refused:
        bot.again(derived)  # pressed the moment the last job naming the copy was deleted
    assert str(refused.value) == PARENT_IMAGE_GONE


def test_a_derived_job_from_before_the_copies_works_while_its_parents_image_is_kept_then_is_refused(
    bot: Bot,
) -> None:
    """Its request names the parent's own file: a reroll starts from a copy while that file is there, and is refused
    with a message (not admitted to fail in the engine) once it is gone."""
    parent, image = bot.parent("a grid from last year")
    old = bot.derive(image, parent)
    bot.as_before_0009(old, image)
    assert bot.request(bot.again(old)).source_image == str(sources_folder(bot.data_dir).resolve() / bot.references()[0])

    shutil.rmtree(image.parent)  # pruned, or deleted with 🗑️
    with pytest.raises(SourceGone) as refused:
        bot.again(old)
    assert describe(refused.value) == PARENT_IMAGE_GONE  # what the member is told, as is
    assert "no longer stored on the bot" in PARENT_IMAGE_GONE and "cannot be made again" in PARENT_IMAGE_GONE


def test_derived_jobs_from_before_the_copies_get_one_while_their_parents_image_is_kept(bot: Bot) -> None:
    """What the service does before its first pruning after the upgrade (revision 0009 listed these jobs)."""
    kept_parent, kept = bot.parent("kept")
    _, pruned = bot.parent("pruned")
    deleted_parent, deleted = bot.parent("a grid whose variation was deleted")
    copied, parent_gone, hidden, waiting = [], [], [], []
    for image, parent, made in (
        (kept, kept_parent, copied),
        (pruned, None, parent_gone),
        (deleted, deleted_parent, hidden),
    ):
        made.append(bot.derive(image, parent))
        bot.finish(made[0])
        bot.as_before_0009(made[0], image)
    waiting.append(bot.derive(kept, kept_parent))  # still queued: its end writes its request again
    bot.as_before_0009(waiting[0], kept)
    shutil.rmtree(pruned.parent)
    bot.storage.hide(hidden[0], by=1)

    assert bot.storage.copy_parent_images(limit=2) == 2
    assert bot.storage.copy_parent_images() == 1
    assert bot.storage.copy_parent_images() == 0

    copy = sources_folder(bot.data_dir).resolve() / f"{hashlib.sha256(b'kept').hexdigest()}.png"
    assert bot.request(copied[0]).source_image == str(copy) and bot.references() == [copy.name]
    assert bot.request(parent_gone[0]).source_image == str(pruned)  # refused at submit, as above
    assert bot.request(hidden[0]).source_image == str(deleted)
    shutil.rmtree(kept.parent)
    assert bot.request(bot.again(copied[0])).source_image == str(copy)
    with bot.queue._sessions.begin() as session:
        assert list(session.scalars(select(UncopiedSource.job_id))) == [
            session.scalar(select(Job.id).where(Job.public_id == waiting[0]))
        ]


async def test_the_service_copies_them_in_short_turns(
    job_settings: JobSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "COPIES_PER_CALL", 2)
    service = JobService(job_settings, process_jobs=False)
    await service.start()
    try:
        bot = Bot(service.queue, service.storage, job_settings.data_dir)
        parent, image = bot.parent("a grid")
        for _ in range(5):
            bot.finish(derived := bot.derive(image, parent))
            bot.as_before_0009(derived, image)
        assert await service.copy_parent_images() == 5
        assert await service.copy_parent_images() == 0
        assert len(bot.references()) == 5
    finally:
        await service.stop()


async def test_reproducing_a_variation_after_its_parent_was_pruned_makes_the_same_pixels(
    job_settings: JobSettings, running_service: Callable
) -> None:
    """With the engine (SQLite only): the variation starts from the kept copy of its parent's image, and its
    /reproduce after the parent's folder is pruned (and the sources swept) gives back its pixels."""
    async with running_service(job_settings.model_copy(update={"retention_days": 1})) as service:
        grid = await service.submit(
            GenerationRequest(prompt="a red fox", steps=2, seed=3, count=1),
            kind=JobKind.IMAGINE,
            user_id=1,
            raw_prompt="a red fox",
        )
        await until_done(service, grid.public_id)
        made = await service.get_job(grid.public_id)
        request = derive.variation(made.request, made.images[0], "subtle").model_copy(update={"count": 1})
        varied = await service.submit(
            request, kind=JobKind.VARIATION, user_id=1, raw_prompt="a red fox", parent_job=grid.public_id
        )
        await until_done(service, varied.public_id)
        original = await service.get_job(varied.public_id)
        with Image.open(original.images[0].path) as image:
            pixels = image.tobytes()
        with service.queue._sessions.begin() as session:
            past = utcnow() - timedelta(days=2)
            session.execute(update(Job).where(Job.public_id == grid.public_id).values(finished_at=past))
        assert await service.prune() == 1 and not made.images[0].path.exists()
        age_file(Path(original.request.source_image), OLD)
        assert await service.sweep_sources() == SweptSources()

        again = await service.submit(
            derive.reproduce(original.request), kind=JobKind.REPRODUCE, user_id=1, raw_prompt="a red fox"
        )
        await until_done(service, again.public_id)
        remade = await service.get_job(again.public_id)
    assert remade.status is JobStatus.SUCCEEDED
    with Image.open(remade.images[0].path) as image:
        assert image.tobytes() == pixels
