"""Every accepted job reaches its user exactly once, whenever the bot is killed (SIGKILL, no cleanup).

The bot runs as operators run it, `python -m bot` in its own process, against the emulator. The
emulator holds one of its requests to stop it at an exact point of a job's life; the test kills it
there, starts it again over the same database and images, and checks what members see: one message
per job, in its final state, with buttons that work. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from jobs import JobService, JobSettings, JobStatus, JobView
from jobs.views import SettingsChange
from sandbox.discord import Channel, DiscordEmulator, Message
from sandbox.discord.messages import MessageBody
from tests.bot.bot_process import BotProcess
from tests.bot.helpers import reply_to

pytestmark = pytest.mark.slow

DELIVERY_TIMEOUT = 240.0  # several jobs, a restart, a shared 2-core machine; no assertion depends on it
CHANNEL_MESSAGE = r"/channels/\d+/messages"


@pytest.fixture
async def history(tmp_path: Path, database_url: str) -> AsyncIterator[JobService]:
    """The test's own reader of the bot's database; it never processes jobs."""
    settings = JobSettings(_env_file=None, database_url=database_url, data_dir=tmp_path / "data")
    service = JobService(settings, process_jobs=False)
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
async def bot(discord_emulator: DiscordEmulator, tmp_path: Path, database_url: str) -> AsyncIterator[BotProcess]:
    process = BotProcess(discord_emulator, tmp_path, database_url)
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


def about(prompt: str) -> Callable[[MessageBody], bool]:
    return lambda body: prompt in (body.payload.get("content") or "")


def puts_the_grid(body: MessageBody) -> bool:
    """The final edit of a finished job: the only one that carries buttons."""
    return bool(body.payload.get("components"))


def job_messages(emu: DiscordEmulator, job: JobView, channel: Channel | None = None) -> list[Message]:
    """The messages showing this job in `channel` (default the server's channel), not the private receipts:
    posted with its id as nonce."""
    return [m for m in emu.messages_in(channel) if m.interaction_id is None and m.nonce == job.public_id]


def channel_message_about(emu: DiscordEmulator, text: str) -> Message | None:
    return next((m for m in emu.messages_in() if m.interaction_id is None and text in m.content), None)


async def jobs_of(history: JobService, user_id: int) -> list[JobView]:
    return list(reversed(await history.recent_jobs(user_id, limit=100)))


async def until_delivered(history: JobService, user_id: int, count: int) -> list[JobView]:
    """The user's jobs, oldest first, once there are `count` and every one's final message is on Discord."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        jobs = await jobs_of(history, user_id)
        if len(jobs) == count and all(job.delivered_at is not None for job in jobs):
            return jobs
        assert time.monotonic() < deadline, f"not delivered: {[(j.raw_prompt, j.status, j.delivered_at) for j in jobs]}"
        await asyncio.sleep(0.25)


def assert_shown_once_with_its_grid(emu: DiscordEmulator, job: JobView, channel: Channel | None = None) -> Message:
    messages = job_messages(emu, job, channel)
    assert len(messages) == 1, f"job {job.public_id} ({job.raw_prompt!r}) has {len(messages)} messages"
    [message] = messages
    assert job.status is JobStatus.SUCCEEDED and job.message_id == message.id
    assert message.attachments and len(message.custom_ids()) == 10, message.content
    assert "%" not in message.content and "Waiting" not in message.content
    return message


async def assert_buttons_work(emu: DiscordEmulator, message: Message, job: JobView) -> None:
    press = await emu.click_button(message, f"imagine:upscale:{job.public_id}:1")
    image = await reply_to(emu, press, "image #1 after the restart")
    assert image.attachments and "Image #1" in image.content


async def test_a_kill_while_one_job_runs_one_waits_and_one_is_being_posted_loses_none(
    discord_emulator: DiscordEmulator, bot: BotProcess, history: JobService
) -> None:
    emu, user = discord_emulator, discord_emulator.user.id
    prompts = [
        "a red circle --steps 60 --seed 1",
        "a blue square --ar 2:1 --steps 2",
        "a green star --ar 1:2 --steps 2",
    ]
    await emu.send_slash_command("imagine", {"prompt": prompts[0]})
    await emu.wait_for(
        lambda: (m := channel_message_about(emu, "a red circle")) and "%)" in m.content, timeout=120, what="progress"
    )
    for prompt in prompts[1:]:  # claimed ahead by the busy device, then queued behind it
        await emu.send_slash_command("imagine", {"prompt": prompt})
        await emu.wait_for(lambda p=prompt: channel_message_about(emu, p.split(" --")[0]), timeout=60, what=prompt)
    posting = emu.hold(rf"POST {CHANNEL_MESSAGE}$", applied=False, body_matches=about("a yellow ring"))
    await emu.send_slash_command("imagine", {"prompt": "a yellow ring --steps 2"})
    await posting.wait()

    before = await jobs_of(history, user)
    assert [job.status for job in before] == [JobStatus.RUNNING, JobStatus.RUNNING, JobStatus.QUEUED, JobStatus.QUEUED]
    assert before[3].message_id is None  # accepted, its message never reached Discord
    await bot.kill()
    posting.release()
    await bot.start()

    jobs = await until_delivered(history, user, 4)
    messages = [assert_shown_once_with_its_grid(emu, job) for job in jobs]
    assert jobs[0].attempts == 2  # interrupted once while generating
    await assert_buttons_work(emu, messages[0], jobs[0])


async def test_a_kill_after_the_result_is_recorded_and_before_its_final_edit(
    discord_emulator: DiscordEmulator, bot: BotProcess, history: JobService
) -> None:
    emu, user = discord_emulator, discord_emulator.user.id
    final_edit = emu.hold(rf"PATCH {CHANNEL_MESSAGE}/\d+", applied=False, body_matches=puts_the_grid)
    await emu.send_slash_command("imagine", {"prompt": "a red circle --steps 2 --seed 5"})
    await final_edit.wait()

    [job] = await jobs_of(history, user)
    assert job.status is JobStatus.SUCCEEDED and job.delivered_at is None
    assert "%" in job_messages(emu, job)[0].content  # members still see the last progress state
    await bot.kill()
    final_edit.release()
    await bot.start()

    [job] = await until_delivered(history, user, 1)
    message = assert_shown_once_with_its_grid(emu, job)
    assert job.attempts == 1  # finished once; the restart only delivered it
    await assert_buttons_work(emu, message, job)


async def test_a_kill_while_discord_applies_the_final_edit_or_the_first_post(
    discord_emulator: DiscordEmulator, bot: BotProcess, history: JobService
) -> None:
    """Discord acted, the bot died before hearing so: delivering again shows the same one message."""
    emu, user = discord_emulator, discord_emulator.user.id
    final_edit = emu.hold(rf"PATCH {CHANNEL_MESSAGE}/\d+", applied=True, body_matches=puts_the_grid)
    await emu.send_slash_command("imagine", {"prompt": "a red circle --steps 2 --seed 6"})
    await final_edit.wait()
    first_post = emu.hold(rf"POST {CHANNEL_MESSAGE}$", applied=True, body_matches=about("a blue square"))
    await emu.send_slash_command("imagine", {"prompt": "a blue square --steps 2 --seed 7"})
    await first_post.wait()

    edited, posted = await jobs_of(history, user)
    assert edited.delivered_at is None and posted.message_id is None
    await bot.kill()
    final_edit.release()
    first_post.release()
    await bot.start()

    jobs = await until_delivered(history, user, 2)
    messages = [assert_shown_once_with_its_grid(emu, job) for job in jobs]
    await assert_buttons_work(emu, messages[1], jobs[1])


async def test_a_kill_before_a_private_result_is_posted_posts_it_in_the_dms_and_never_in_the_channel(
    discord_emulator: DiscordEmulator, bot: BotProcess, history: JobService
) -> None:
    """Where a job's message goes is decided when the job is accepted: a member with private results gets it in
    their DMs after a restart, though they turned private results off meanwhile; a job accepted for the channel
    stays there, though its member turned them on."""
    emu = discord_emulator
    alice, bob = emu.user, emu.make_user("bob")
    await reply_to(emu, await emu.send_slash_command("settings", {"private": True}, user=alice), "alice's settings")
    first_posts = [
        emu.hold(rf"POST {CHANNEL_MESSAGE}$", applied=False, body_matches=about(prompt))
        for prompt in ("a secret garden", "a public square")
    ]
    await emu.send_slash_command("imagine", {"prompt": "a secret garden --steps 2 --seed 8"}, user=alice)
    await emu.send_slash_command("imagine", {"prompt": "a public square --steps 2 --seed 9"}, user=bob)
    for post in first_posts:
        await post.wait()

    accepted = [job for user in (alice, bob) for job in await jobs_of(history, user.id)]
    assert len(accepted) == 2 and all(job.message_id is None for job in accepted)  # neither message is on Discord
    await bot.kill()
    for post in first_posts:
        post.release()
    await history.set_user_settings(alice.id, SettingsChange(private_results=False))
    await history.set_user_settings(bob.id, SettingsChange(private_results=True))
    await bot.start()

    [secret] = await until_delivered(history, alice.id, 1)
    [public] = await until_delivered(history, bob.id, 1)
    alices_dms, bobs_dms = emu.dm_channel(alice), emu.dm_channel(bob)
    message = assert_shown_once_with_its_grid(emu, secret, alices_dms)
    assert secret.channel_id == alices_dms.id and "a secret garden" in message.content
    assert not job_messages(emu, secret) and not channel_message_about(emu, "a secret garden")
    assert_shown_once_with_its_grid(emu, public)
    assert not job_messages(emu, public, bobs_dms)
