"""Fair admission and a bot that bounds its own disk, as members meet them: cooldowns, a full disk, images
that expired and were pruned."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image
from sqlalchemy import update

from bot.cooldowns import Rate
from jobs.models import Job, utcnow
from sandbox.discord import DiscordEmulator
from tests.bot.helpers import finished_messages, imagine, job_id_of, reply_to, wait_for_new_result


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.tobytes()


async def test_cooldowns_slow_down_one_member_and_not_the_next(discord_emulator: DiscordEmulator, start_bot) -> None:
    emu = discord_emulator
    bob = emu.make_user("bob")
    async with start_bot(
        cooldown_imagine=Rate(1, 600), cooldown_buttons=Rate(2, 600), cooldown_blend=Rate(1, 600)
    ) as bot:
        grid = await imagine(emu, "a green frog")
        job = job_id_of(grid)
        again = await reply_to(emu, await emu.send_slash_command("imagine", {"prompt": "a frog"}), "the cooldown")
        assert again.ephemeral and again.content.startswith("Slow down: /imagine can be used 1 per 600 s per member")
        assert len(await bot.jobs.recent_jobs(emu.user.id)) == 1
        await imagine(emu, "a brown frog", user=bob)  # Bob has his own bucket

        for index in (1, 2):  # two presses fit the bucket, the third waits
            await reply_to(emu, await emu.click_button(grid, f"imagine:upscale:{job}:{index}"), f"image #{index}")
        third = await reply_to(emu, await emu.click_button(grid, f"imagine:upscale:{job}:3"), "the cooldown")
        assert third.ephemeral and "Slow down: buttons can be used 2 per 600 s per member" in third.content

        # /blend reads and re-encodes every image it is given: a bucket of its own, even for blends refused later.
        notes = {"image1": emu.upload("a.txt", b"a", "text/plain"), "image2": emu.upload("b.txt", b"b", "text/plain")}
        first = await reply_to(emu, await emu.send_slash_command("blend", notes), "the refusal")
        assert first.ephemeral and "is not a PNG, JPEG, WebP or GIF image" in first.content
        second = await reply_to(emu, await emu.send_slash_command("blend", notes), "the cooldown")
        assert second.ephemeral and second.content.startswith("Slow down: /blend can be used 1 per 600 s per member")


async def test_a_nearly_full_disk_refuses_new_jobs(discord_emulator: DiscordEmulator, start_bot, make_jobs) -> None:
    emu = discord_emulator
    async with start_bot(jobs=make_jobs(min_free_disk_mb=10**12)) as bot:
        answer = await reply_to(emu, await emu.send_slash_command("imagine", {"prompt": "a fox"}), "the refusal")
        assert answer.ephemeral and "disk is nearly full" in answer.content
        assert await bot.jobs.recent_jobs(emu.user.id) == []


async def test_expired_images_are_pruned_and_show_offers_reproduce(
    discord_emulator: DiscordEmulator, start_bot, make_jobs
) -> None:
    emu = discord_emulator
    async with start_bot(jobs=make_jobs(retention_days=30)) as bot:
        grid = await imagine(emu, "an old photograph --seed 8")
        job = job_id_of(grid)
        with bot.jobs.queue._sessions.begin() as session:  # a month and a day pass
            session.execute(update(Job).where(Job.public_id == job).values(finished_at=utcnow() - timedelta(days=31)))
        assert await bot.jobs.prune() == 1
        assert not (await bot.jobs.get_job(job)).grid_path.exists()

        shown = await reply_to(emu, await emu.send_slash_command("show", {"job": job}), "the expiry note")
        assert shown.ephemeral and "have expired" in shown.content and f"/reproduce job:{job}" in shown.content
        pressed = await reply_to(emu, await emu.click_button(grid, f"imagine:vary:{job}:1:strong"), "the refusal")
        assert pressed.ephemeral and "have expired" in pressed.content

        before = len(finished_messages(emu))
        await reply_to(emu, await emu.send_slash_command("reproduce", {"job": job}), "the receipt")
        again = await wait_for_new_result(emu, before, "the reproduction")
        assert pixels(again.attachments[0].data) == pixels(grid.attachments[0].data)
