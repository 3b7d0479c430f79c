"""The buttons under grids and images: variations, rerolls, details and delete, pressed by owners and others."""

from __future__ import annotations

import asyncio
import io

from PIL import Image
from sqlalchemy import update

from bot.client import ImagineBot
from jobs.models import Job
from sandbox.discord import DiscordEmulator
from tests.bot.helpers import ANSWER_TIMEOUT, finished_messages, imagine, job_id_of, reply_to, wait_for_new_result


async def forbid_others_to_press(emu: DiscordEmulator, user) -> None:
    command = await emu.send_slash_command("settings", {"others_may_press_my_buttons": False}, user=user)
    answer = await reply_to(emu, command, "the settings reply")
    assert "Others may press my buttons: no" in answer.content


async def test_others_get_v1_and_reroll_under_their_own_name_until_the_owner_forbids_it(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    emu = discord_emulator
    bob = emu.make_user("bob")
    grid = await imagine(emu, "a castle on a hill")  # the owner never opened /settings
    job = job_id_of(grid)

    before = len(finished_messages(emu))
    await emu.click_button(grid, f"imagine:vary:{job}:1:strong", user=bob)
    variations = await wait_for_new_result(emu, before, "the variations")
    assert f"Variations (Strong) by <@{bob.id}>" in variations.content
    assert len(variations.custom_ids()) == 10 and job_id_of(variations) != job

    await emu.click_button(grid, f"imagine:reroll:{job}", user=bob)
    rerolled = await wait_for_new_result(emu, before + 1, "the reroll")
    assert rerolled.content.endswith(f"- <@{bob.id}>")
    assert "a castle on a hill" in rerolled.content
    assert rerolled.attachments[0].data != grid.attachments[0].data

    await forbid_others_to_press(emu, emu.user)
    bobs_jobs = len(await bot.jobs.recent_jobs(bob.id))
    refused = await emu.click_button(grid, f"imagine:vary:{job}:1:strong", user=bob)
    answer = await reply_to(emu, refused, "the refusal")
    assert answer.ephemeral and f"<@{emu.user.id}> keeps the buttons on their images to themselves" in answer.content
    assert len(await bot.jobs.recent_jobs(bob.id)) == bobs_jobs


async def test_details_show_the_reproduce_command(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    grid = await imagine(emu, "a paper boat --seed 41")
    job = job_id_of(grid)
    separate = await emu.click_button(grid, f"imagine:upscale:{job}:2")
    image = await reply_to(emu, separate, "image #2")

    press = await emu.click_button(image, f"imagine:details:{job}:2")
    details = await reply_to(emu, press, "the details")

    assert details.ephemeral
    assert f"`/reproduce job:{job} image:2`" in details.content
    assert "**Seed:** 42" in details.content  # image i uses seed + i - 1
    assert "a paper boat" in details.content


async def test_details_and_the_envelope_name_a_cluster_device_without_its_machines_address(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    emu = discord_emulator
    bob = emu.make_user("bob")
    grid = await imagine(emu, "a paper kite --ar 3:2 --chaos 5 --seed 12")
    job = job_id_of(grid)
    image = await reply_to(emu, await emu.click_button(grid, f"imagine:upscale:{job}:1"), "image #1")
    with bot.jobs.queue._sessions.begin() as session:  # as the Ray backend names a cluster's GPU
        session.execute(update(Job).where(Job.public_id == job).values(device="10.8.0.2/3f9a2c:1"))

    details = await reply_to(emu, await emu.click_button(image, f"imagine:details:{job}:1"), "the details")
    await reply_to(emu, await emu.click_button(image, f"imagine:dm:{job}:1", user=bob), "the receipt")
    [sent] = [message for message in emu.messages_in(emu.dm_channel(bob)) if not message.ephemeral]
    for shown in (details.content, sent.content):
        assert "on 3f9a2c:1" in shown and "10.8.0" not in shown
        assert "**Prompt:** a paper kite --ar 3:2 --seed 12 " in shown and " --chaos 5 " in shown


async def test_only_the_owner_may_delete_an_image(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    mallory = emu.make_user("mallory")
    grid = await imagine(emu, "a quiet pond")
    job = job_id_of(grid)
    separate = await emu.click_button(grid, f"imagine:upscale:{job}:1")
    image = await reply_to(emu, separate, "image #1")
    delete = f"imagine:delete:{emu.user.id}"

    refused = await emu.click_button(image, delete, user=mallory)
    answer = await reply_to(emu, refused, "the refusal")
    assert answer.ephemeral and "Only <@" in answer.content
    assert not image.deleted

    await emu.click_button(image, delete)
    await emu.wait_for(lambda: image.deleted, timeout=ANSWER_TIMEOUT, what="the owner's delete")


async def test_reproduce_gives_identical_pixels(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    grid = await imagine(emu, "a glass of water --seed 5")
    job = job_id_of(grid)

    before = len(finished_messages(emu))
    await emu.send_slash_command("reproduce", {"job": job, "image": 3})
    again = await wait_for_new_result(emu, before, "the reproduction")

    original = Image.open(io.BytesIO(grid.attachments[0].data)).convert("RGB").crop((0, 64, 64, 128))
    reproduced = Image.open(io.BytesIO(again.attachments[0].data)).convert("RGB")
    assert reproduced.size == (64, 64)
    assert reproduced.tobytes() == original.tobytes()


async def test_upscale_zoom_and_pan_make_new_jobs_from_one_image(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    emu = discord_emulator
    grid = await imagine(emu, "a small house --seed 9")
    job = job_id_of(grid)
    image = await reply_to(emu, await emu.click_button(grid, f"imagine:upscale:{job}:1"), "image #1")

    before = len(finished_messages(emu))
    await emu.click_button(image, f"imagine:enlarge:{job}:1:subtle")
    upscaled = await wait_for_new_result(emu, before, "the upscale")
    assert f"Upscaled (Subtle) by <@{emu.user.id}>" in upscaled.content
    assert Image.open(io.BytesIO(upscaled.attachments[0].data)).width > 64
    # one image: the single-image buttons, not U1–U4; at the upscale budget (4 × 64², here), without Upscale
    assert len(upscaled.custom_ids()) == 13 and not any(":enlarge:" in id_ for id_ in upscaled.custom_ids())

    await emu.click_button(image, f"imagine:zoom:{job}:1")
    zoomed = await wait_for_new_result(emu, before + 1, "the zoom out")
    await emu.click_button(image, f"imagine:pan:{job}:1:left")
    panned = await wait_for_new_result(emu, before + 2, "the pan")
    assert "Zoom Out by" in zoomed.content and len(zoomed.custom_ids()) == 10
    assert "Pan Left by" in panned.content and len(panned.custom_ids()) == 10


async def test_an_upscale_past_a_budget_lowered_since_is_refused_at_the_button(
    discord_emulator: DiscordEmulator, start_bot, engine_settings
) -> None:
    emu = discord_emulator
    generous = engine_settings.model_copy(update={"upscale_max_pixels": 256 * 256})
    async with start_bot(limits=generous) as first:  # the bot shows Upscale under a 128² image then...
        grid = await imagine(emu, "a tall tower --seed 4")
        job = job_id_of(grid)
        image = await reply_to(emu, await emu.click_button(grid, f"imagine:upscale:{job}:1"), "image #1")
        before = len(finished_messages(emu))
        await emu.click_button(image, f"imagine:enlarge:{job}:1:subtle")
        upscaled = await wait_for_new_result(emu, before, "the upscale")
        assert f"imagine:enlarge:{job_id_of(upscaled)}:1:subtle" in upscaled.custom_ids()
        # Delivered: a restart leaves the message as it is (an undelivered one would be drawn again, with the
        # new budget, and lose its Upscale buttons).
        while (await first.jobs.get_job(job_id_of(upscaled))).delivered_at is None:
            await asyncio.sleep(0.05)

    async with start_bot() as bot:  # ... and the operator lowered UPSCALE_MAX_PIXELS to 4 × 64² since
        press = await emu.click_button(upscaled, f"imagine:enlarge:{job_id_of(upscaled)}:1:subtle")
        answer = await reply_to(emu, press, "the refusal")
        assert answer.ephemeral and "upscaled it would be 256×256" in answer.content
        assert "more than this server's upscale limit of 0.02 MP" in answer.content
        assert len(await bot.jobs.recent_jobs(emu.user.id)) == 2  # the grid and the first upscale only
