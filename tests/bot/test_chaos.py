"""Members keep submitting while the bot is killed at random moments and Discord fails one call in ten:
every accepted job is still delivered exactly once.

The CI-sized run takes about a minute on each of SQLite and PostgreSQL; `pytest -m soak` runs a longer one on both.
The seed is in the test id, so a failure can be replayed exactly (as far as timing allows).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from pathlib import Path

import pytest

from jobs import JobService, JobSettings, JobStatus, JobView
from sandbox.discord import DiscordEmulator, Message
from tests.bot.bot_process import BotProcess

DELIVERY_TIMEOUT = 300.0
FAULT_RATE = 0.10
RECEIPT = re.compile(r"Queued as job `([a-z2-7]+)`")


async def run_chaos(
    emu: DiscordEmulator, workdir: Path, database_url: str, *, seed: int, rounds: int, jobs_per_round: int
) -> None:
    rng = random.Random(seed)
    members = [emu.user, emu.make_user("bob"), emu.make_user("carol")]
    bot = BotProcess(emu, workdir, database_url)
    history = JobService(
        JobSettings(_env_file=None, database_url=database_url, data_dir=workdir / "data"), process_jobs=False
    )
    await history.start()
    emu.fail_randomly(FAULT_RATE, seed=seed)
    try:
        await bot.start()
        number = 0
        for round_number in range(rounds):
            for _ in range(jobs_per_round):
                prompt = f"a red circle number {number} --steps {rng.choice((2, 10, 40))} --seed {number}"
                await emu.send_slash_command("imagine", {"prompt": prompt}, user=rng.choice(members))
                number += 1
                await asyncio.sleep(rng.uniform(0.0, 0.6))
            await until_generating(history, [member.id for member in members])  # the engine process is up and at work
            await asyncio.sleep(rng.uniform(0.0, 2.5))  # then somewhere in the middle of whatever goes on
            await bot.kill()
            if round_number < rounds - 1 or rng.random() < 0.5:
                await bot.start()
        if bot.process.poll() is not None:
            await bot.start()
        jobs = await until_all_delivered(history, [member.id for member in members])
        check_each_job_shown_once(emu, jobs)
        faults = [record for record in emu.requests if record.status in (429, 500, 502)]
        assert faults and bot.starts > rounds // 2  # the chaos really happened
        print(
            f"chaos seed {seed}: {len(jobs)} jobs, {bot.starts} starts, {len(faults)} of {len(emu.requests)} "
            f"API calls failed, {sum(job.attempts > 1 for job in jobs)} jobs interrupted while generating"
        )
    finally:
        await bot.stop()
        await history.stop()


async def until_generating(history: JobService, users: list[int]) -> None:
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        jobs = [job for user in users for job in await history.recent_jobs(user, limit=1000)]
        if any(job.status is JobStatus.RUNNING for job in jobs):
            return
        assert time.monotonic() < deadline, "no job ever started"
        await asyncio.sleep(0.1)


async def until_all_delivered(history: JobService, users: list[int]) -> list[JobView]:
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        jobs = [job for user in users for job in await history.recent_jobs(user, limit=1000)]
        waiting = [(job.public_id, job.status) for job in jobs if job.delivered_at is None]
        if jobs and not waiting:
            return jobs
        assert time.monotonic() < deadline, f"never delivered: {waiting}"
        await asyncio.sleep(0.5)


def check_each_job_shown_once(emu: DiscordEmulator, jobs: list[JobView]) -> None:
    channel_messages = [m for m in emu.messages_in() if m.interaction_id is None]
    assert len(channel_messages) == len(jobs), "a job got a second message, or a message belongs to no job"
    by_nonce: dict[str, list[Message]] = {}
    for message in channel_messages:
        by_nonce.setdefault(message.nonce, []).append(message)
    for job in jobs:
        [message] = by_nonce.get(job.public_id, [])
        assert job.message_id == message.id
        if job.status is JobStatus.SUCCEEDED:
            assert message.attachments and len(message.custom_ids()) == 10, message.content
            assert "%)" not in message.content
        else:  # a job interrupted MAX_ATTEMPTS times fails, and says so
            assert job.status is JobStatus.FAILED and "Failed: This job was interrupted" in message.content
    accepted = {job.public_id for job in jobs}
    receipts = {match[1] for m in emu.messages_in() if m.interaction_id for match in RECEIPT.finditer(m.content)}
    assert receipts <= accepted  # every job a member was told about exists


@pytest.mark.slow
async def test_random_kills_and_discord_errors_still_deliver_every_job_once(
    discord_emulator: DiscordEmulator, tmp_path: Path, database_url: str
) -> None:
    await run_chaos(discord_emulator, tmp_path, database_url, seed=1201, rounds=5, jobs_per_round=5)


@pytest.mark.soak
@pytest.mark.parametrize("seed", [7, 8])
async def test_soak_random_kills_and_discord_errors(
    discord_emulator: DiscordEmulator, tmp_path: Path, database_url: str, seed: int
) -> None:
    await run_chaos(discord_emulator, tmp_path, database_url, seed=seed, rounds=15, jobs_per_round=6)
