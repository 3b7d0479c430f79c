"""Moderation that sticks: 🗑️ hides a job for good, deleting a waiting job's message cancels it, and member
text is shown as text."""

from __future__ import annotations

from bot.client import ImagineBot
from jobs import JobStatus
from sandbox.discord import DiscordEmulator
from tests.bot.helpers import ANSWER_TIMEOUT, eventually, imagine, job_id_of, reply_to


async def test_deleting_a_grid_hides_its_job_for_good(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    bob = emu.make_user("bob")
    grid = await imagine(emu, "a red balloon")
    job = job_id_of(grid)
    image = await reply_to(emu, await emu.click_button(grid, f"imagine:upscale:{job}:1"), "image #1")
    delete = f"imagine:delete:{emu.user.id}"

    refused = await reply_to(emu, await emu.click_button(grid, delete, user=bob), "the refusal")
    assert refused.ephemeral and f"Only <@{emu.user.id}> or a server admin" in refused.content
    assert not grid.deleted and (await bot.jobs.get_job(job)).hidden_at is None

    confirmed = await reply_to(emu, await emu.click_button(grid, delete), "the confirmation")
    assert confirmed.ephemeral and f"Deleted job `{job}`" in confirmed.content
    assert grid.deleted
    stored = await bot.jobs.get_job(job)
    assert stored.hidden_at is not None and not stored.grid_path.exists()
    assert not any(record.path.exists() for record in stored.images)

    attempts = (
        lambda: emu.send_slash_command("show", {"job": job}),
        lambda: emu.send_slash_command("reproduce", {"job": job}),
        lambda: emu.click_button(image, f"imagine:vary:{job}:1:strong"),
        lambda: emu.click_button(image, f"imagine:details:{job}:1"),
        lambda: emu.click_button(image, f"imagine:zoom:{job}:1", user=bob),
    )
    for attempt in attempts:
        answer = await reply_to(emu, await attempt(), "the refusal")
        assert answer.ephemeral and f"Job `{job}` was deleted" in answer.content
    assert len(await bot.jobs.recent_jobs(emu.user.id)) == 1 and await bot.jobs.recent_jobs(bob.id) == []


async def test_an_admin_may_delete_anyones_grid_and_a_presser_only_their_copy(
    discord_emulator: DiscordEmulator, start_bot
) -> None:
    emu = discord_emulator
    moderators = emu.make_role("moderators")
    mod = emu.make_user("mod", roles=[moderators])
    bob = emu.make_user("bob")
    async with start_bot(admin_role_id=moderators.id) as bot:
        grid = await imagine(emu, "a blue kite")
        job = job_id_of(grid)
        # Bob separates a copy of Alice's image; his 🗑️ under it removes only his copy.
        copy = await reply_to(emu, await emu.click_button(grid, f"imagine:upscale:{job}:2", user=bob), "bob's copy")
        await emu.click_button(copy, f"imagine:delete:{bob.id}", user=bob)
        await emu.wait_for(lambda: copy.deleted, timeout=ANSWER_TIMEOUT, what="bob's copy to go")
        assert (await bot.jobs.get_job(job)).hidden_at is None

        await emu.click_button(grid, f"imagine:delete:{emu.user.id}", user=mod)
        await emu.wait_for(lambda: grid.deleted, timeout=ANSWER_TIMEOUT, what="the grid to go")
        stored = await bot.jobs.get_job(job)
        assert stored.hidden_at is not None and not stored.grid_path.exists()


async def test_deleting_a_waiting_jobs_message_cancels_it(
    discord_emulator: DiscordEmulator, start_bot, make_jobs
) -> None:
    emu = discord_emulator
    async with start_bot(jobs=make_jobs(process_jobs=False)) as bot:  # nothing runs: the job stays queued
        await emu.send_slash_command("imagine", {"prompt": "a slow turtle"})
        waiting = await emu.wait_for(
            lambda: next((m for m in emu.messages_in() if not m.ephemeral and m.interaction_id is None), None),
            timeout=ANSWER_TIMEOUT,
            what="the waiting message",
        )
        [job] = await bot.jobs.recent_jobs(emu.user.id)
        await emu.delete_message(waiting, by=emu.owner)

        async def cancelled() -> bool:
            stored = await bot.jobs.get_job(job.public_id)
            return stored.status is JobStatus.CANCELLED and stored.delivered_at is not None

        await eventually(cancelled, "the job to be cancelled and its outbox closed")
        assert (await bot.jobs.stats()).queue_length == 0


async def test_member_text_is_shown_as_text(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    grid = await imagine(emu, "[Claim your prize](https://example.com) <@&1> @everyone **now**")
    job = job_id_of(grid)
    image = await reply_to(emu, await emu.click_button(grid, f"imagine:upscale:{job}:1"), "image #1")
    details = await reply_to(emu, await emu.click_button(image, f"imagine:details:{job}:1"), "the details")
    history = await reply_to(emu, await emu.send_slash_command("history"), "the history")
    for shown in (grid.content, image.content, details.content, history.content):
        assert "[Claim your prize](" not in shown and "\\[Claim your prize\\]" in shown
        assert "<@&1>" not in shown and "@everyone" not in shown and "**now**" not in shown
