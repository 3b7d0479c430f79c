"""Moderation that sticks: 🗑️ hides a job for good, a moderator deleting a job's message in Discord cancels or
hides it (the bot's own deletions do not), Discord's permissions make moderators, a made-up custom_id is refused,
and member text is shown as text."""

from __future__ import annotations

from sqlalchemy import select

from bot.client import ImagineBot
from bot.own_deletions import DELETED_IN_DISCORD
from jobs import JobStatus
from jobs.models import Job
from sandbox.discord import DiscordEmulator
from sandbox.discord.state import ADMINISTRATOR, MANAGE_MESSAGES
from tests.bot.helpers import ANSWER_TIMEOUT, eventually, imagine, job_id_of, reply_to


async def hidden(bot: ImagineBot, job: str) -> bool:
    return (await bot.jobs.get_job(job)).hidden_at is not None


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


async def test_a_moderator_deleting_a_jobs_message_in_discord_hides_the_job_and_the_bot_deleting_it_does_not(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    emu = discord_emulator
    mod = emu.make_user("mod", roles=[emu.make_role("janitors", permissions=MANAGE_MESSAGES)])
    grid = await imagine(emu, "a stolen bicycle")
    job = job_id_of(grid)
    kept = await imagine(emu, "a parked bicycle")
    kept_job = job_id_of(kept)
    repost = await reply_to(emu, await emu.send_slash_command("show", {"job": job}), "the repost")
    copy = await reply_to(emu, await emu.click_button(grid, f"imagine:upscale:{job}:1"), "image #1")
    assert repost.id != grid.id and not repost.ephemeral and not copy.ephemeral

    # A repost and a copy are not the job's own message; the bot's own deletion of a job's message (it hears of
    # those too, before its request is even answered, and is not told who deleted) hides nothing.
    await emu.delete_message(repost, by=mod)
    await emu.delete_message(copy, by=mod)
    await bot.own_deletions.delete(bot.get_partial_messageable(kept.channel_id).get_partial_message(kept.id))
    assert kept.deleted
    await emu.delete_message(grid, by=mod)

    await eventually(lambda: hidden(bot, job), "the job of the deleted grid to be hidden")
    stored = await bot.jobs.get_job(job)
    assert not stored.grid_path.exists() and not any(record.path.exists() for record in stored.images)
    with bot.jobs.queue._sessions.begin() as session:
        assert session.scalar(select(Job.hidden_by).where(Job.public_id == job)) == DELETED_IN_DISCORD
    for command in ("show", "reproduce"):
        answer = await reply_to(emu, await emu.send_slash_command(command, {"job": job}), f"the {command} refusal")
        assert answer.ephemeral and f"Job `{job}` was deleted" in answer.content
    # Deletions are handled in the order they came: the earlier ones are done by now.
    assert not await hidden(bot, kept_job)


async def test_manage_messages_or_administrator_make_a_moderator(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    emu = discord_emulator
    janitor = emu.make_user("janitor", roles=[emu.make_role("janitors", permissions=MANAGE_MESSAGES)])
    boss = emu.make_user("boss", roles=[emu.make_role("admins", permissions=ADMINISTRATOR)])
    bob = emu.make_user("bob")
    first, second = await imagine(emu, "a first graffiti"), await imagine(emu, "a second graffiti")
    delete = f"imagine:delete:{emu.user.id}"

    refused = await reply_to(emu, await emu.click_button(first, delete, user=bob), "the refusal")
    assert refused.ephemeral and "or a server admin can delete this" in refused.content and not first.deleted
    for moderator, grid in ((janitor, first), (boss, second)):
        confirmed = await reply_to(emu, await emu.click_button(grid, delete, user=moderator), "the confirmation")
        assert confirmed.ephemeral and "Deleted job" in confirmed.content and grid.deleted
        assert await hidden(bot, job_id_of(grid)), moderator.username


async def test_delete_trusts_the_database_and_the_message_not_a_custom_id(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    emu = discord_emulator
    bob = emu.make_user("bob")
    grid = await imagine(emu, "a private diary")
    job = job_id_of(grid)

    # Bob's client makes up a 🗑️ that names him, and a button for a job the message does not show.
    for forged in (f"imagine:delete:{bob.id}", "imagine:vary:zzzzzzzzzz:1:strong"):
        press = await emu.click_button(grid, forged, user=bob, forged=True)
        answer = await reply_to(emu, press, "the refusal")
        assert answer.ephemeral and "That button isn't on this message" in answer.content
    assert not grid.deleted and not await hidden(bot, job) and await bot.jobs.recent_jobs(bob.id) == []

    # Bob's copy of Alice's image says it was made for Bob; the database says the image is Alice's, so her 🗑️
    # there deletes her job.
    copy = await reply_to(emu, await emu.click_button(grid, f"imagine:upscale:{job}:2", user=bob), "bob's copy")
    confirmed = await reply_to(emu, await emu.click_button(copy, f"imagine:delete:{bob.id}"), "the confirmation")
    assert confirmed.ephemeral and f"Deleted job `{job}`" in confirmed.content
    assert copy.deleted and await hidden(bot, job)


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
