"""Midjourney's iteration loop through the real bot: Remix, Vary (Region), the zoom variants, 📩, and the
/settings that shape them."""

from __future__ import annotations

import io

from PIL import Image

from bot.client import ImagineBot
from engine.request import Operation
from sandbox.discord import DiscordEmulator, Interaction
from tests.bot.helpers import ANSWER_TIMEOUT, finished_messages, imagine, job_id_of, reply_to, wait_for_new_result


async def settings(emu: DiscordEmulator, **options) -> str:
    return (await reply_to(emu, await emu.send_slash_command("settings", options), "the settings")).content


async def opened_form(emu: DiscordEmulator, press: Interaction) -> dict:
    return await emu.wait_for(lambda: press.modal, timeout=ANSWER_TIMEOUT, what="the form")


def field_values(form: dict) -> dict[str, str]:
    values = {}
    for row in form["components"]:
        for field in row.get("components", []) or [row.get("component", {})]:
            if "value" in field:
                values[field["custom_id"]] = field["value"]
    return values


def text_field(form: dict) -> str:
    return next(
        field["custom_id"]
        for row in form["components"]
        for field in row.get("components", []) or [row.get("component", {})]
        if field.get("type") == 4
    )


async def separated(emu: DiscordEmulator, grid, index: int = 1):
    job = job_id_of(grid)
    return await reply_to(emu, await emu.click_button(grid, f"imagine:upscale:{job}:{index}"), f"image #{index}")


async def test_remix_opens_the_prompt_before_a_variation(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    grid = await imagine(emu, "a red fox --ar 1:1 --seed 5 --steps 2")
    job = job_id_of(grid)
    assert "Remix (edit the prompt before V, 🔄, Vary, Zoom, Pan): on" in await settings(emu, remix=True)

    press = await emu.click_button(grid, f"imagine:vary:{job}:2:strong")
    form = await opened_form(emu, press)
    [text] = field_values(form).values()
    assert text.startswith("a red fox") and "--steps 2" in text and "--seed" not in text

    refused = await emu.submit_modal(press, {text_field(form): "a blue fox --ar wide"})
    answer = await reply_to(emu, refused, "the flag error")
    assert answer.ephemeral and "--ar expects" in answer.content

    before = len(finished_messages(emu))
    await emu.submit_modal(press, {text_field(form): "a blue fox --steps 2"})
    variations = await wait_for_new_result(emu, before, "the remixed variations")
    child = await bot.jobs.get_job(job_id_of(variations))
    assert child.raw_prompt == "a blue fox --steps 2" and child.request.prompt == "a blue fox"
    assert child.parent_public_id == job and child.parent_index == 2
    assert child.request.operation is Operation.VARIATION and "a blue fox" in variations.content

    await settings(emu, remix=False)
    press = await emu.click_button(grid, f"imagine:reroll:{job}")
    assert "Queued" in (await reply_to(emu, press, "the receipt")).content and press.modal is None


async def test_a_remix_obeys_the_servers_banned_words(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    grid = await imagine(emu, "a quiet lake")
    await reply_to(emu, await emu.send_slash_command("config", {"banned_words": "gore"}, user=emu.owner), "config")
    await settings(emu, remix=True)
    press = await emu.click_button(grid, f"imagine:reroll:{job_id_of(grid)}")
    form = await opened_form(emu, press)
    answer = await reply_to(emu, await emu.submit_modal(press, {text_field(form): "a lake of ｇｏｒｅ"}), "refusal")
    assert answer.ephemeral and "gore" in answer.content
    assert len(await bot.jobs.recent_jobs(emu.user.id)) == 1


async def test_vary_region_repaints_the_chosen_cells_only(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    grid = await imagine(emu, "a red circle on a blue background --seed 3")
    image = await separated(emu, grid, 1)
    job = job_id_of(grid)
    press = await emu.click_button(image, f"imagine:region:{job}:1")
    form = await opened_form(emu, press)
    select = next(row["component"]["custom_id"] for row in form["components"] if row["component"]["type"] == 3)

    before = len(finished_messages(emu))
    await emu.submit_modal(press, {select: ["0", "1", "2"]})  # the top row
    repainted = await wait_for_new_result(emu, before, "the region variations")
    child = await bot.jobs.get_job(job_id_of(repainted))
    assert child.request.operation is Operation.REGION and child.request.region == (0, 1, 2)
    assert len(child.images) == 4
    source = Image.open(io.BytesIO(image.attachments[0].data)).convert("RGB")
    for record in child.images:
        with Image.open(record.path) as result:
            result = result.convert("RGB")
            assert result.size == source.size
            height = source.height
            kept = (0, height * 2 // 3, source.width, height)  # the bottom row, far from the mask's feather
            assert result.crop(kept).tobytes() == source.crop(kept).tobytes()


async def test_zoom_variants(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    grid = await imagine(emu, "a lighthouse --ar 2:1 --seed 4")
    image = await separated(emu, grid, 1)
    job = job_id_of(grid)
    assert "imagine:square:" + job + ":1" in image.custom_ids()  # not square: Make Square is offered

    before = len(finished_messages(emu))
    await emu.click_button(image, f"imagine:zoom15:{job}:1")
    zoomed = await bot.jobs.get_job(job_id_of(await wait_for_new_result(emu, before, "zoom 1.5")))
    assert zoomed.request.zoom == 1.5 and zoomed.request.canvas_aspect is None

    await emu.click_button(image, f"imagine:square:{job}:1")
    square = await bot.jobs.get_job(job_id_of(await wait_for_new_result(emu, before + 1, "make square")))
    assert square.request.zoom == 1.0 and square.request.canvas_aspect == (1, 1)
    assert square.images[0].width == square.images[0].height

    press = await emu.click_button(image, f"imagine:customzoom:{job}:1")
    form = await opened_form(emu, press)
    [text] = field_values(form).values()
    assert text.endswith("--zoom 2") and "--ar 2:1" in text
    bad = await emu.submit_modal(press, {text_field(form): "a lighthouse --zoom 3"})
    assert "--zoom expects a number from 1 to 2" in (await reply_to(emu, bad, "the refusal")).content
    await emu.submit_modal(press, {text_field(form): "a lighthouse at night --ar 1:1 --zoom 1.25"})
    custom = await bot.jobs.get_job(job_id_of(await wait_for_new_result(emu, before + 2, "custom zoom")))
    assert custom.request.zoom == 1.25 and custom.request.canvas_aspect == (1, 1)
    assert custom.request.prompt == "a lighthouse at night" and custom.parent_public_id == job


async def test_the_envelope_sends_the_image_and_its_record_by_dm(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    emu = discord_emulator
    bob = emu.make_user("bob")
    grid = await imagine(emu, "a paper crane --seed 9")
    image = await separated(emu, grid, 3)
    job = job_id_of(grid)
    answer = await reply_to(emu, await emu.click_button(image, f"imagine:dm:{job}:3", user=bob), "the receipt")
    assert answer.ephemeral and "to your DMs" in answer.content
    [sent] = [message for message in emu.messages_in(emu.dm_channel(bob)) if not message.ephemeral]
    assert sent.attachments and f"`/reproduce job:{job} image:3`" in sent.content and "a paper crane" in sent.content


async def test_settings_shape_new_jobs_and_their_buttons(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    shown = await settings(
        emu,
        guidance=4.5,
        sampler="ddim",
        chaos=20,
        negative_prompt="blurry, text",
        variations="subtle",
    )
    assert "Guidance: 4.5" in shown and "Sampler: ddim" in shown and "V1–V4 make subtle variations" in shown
    grid = await imagine(emu, "a teapot --no steam")
    job = await bot.jobs.get_job(job_id_of(grid))
    request = job.request
    assert (request.guidance, request.sampler, request.chaos) == (4.5, "ddim", 20)
    assert request.negative_prompt == "blurry, text, steam"
    assert f"imagine:vary:{job.public_id}:1:subtle" in grid.custom_ids()

    both = await reply_to(emu, await emu.send_slash_command("settings", {"guidance": 3.0, "stylize": 100}), "no")
    assert "guidance or stylize, not both" in both.content

    await settings(emu, private=True)
    dm = emu.dm_channel(emu.user)
    await emu.send_slash_command("imagine", {"prompt": "a secret garden"})
    private = await wait_for_new_result(emu, 0, "the private result", dm)
    assert private.channel_id == dm.id and "a secret garden" in private.content
    assert not any("a secret garden" in message.content for message in emu.messages_in())
    # 🔄 pressed in the DMs: the new job is still the server's, under its rules, caps and share.
    await emu.click_button(private, f"imagine:reroll:{job_id_of(private)}")
    again = await wait_for_new_result(emu, 1, "the private reroll", dm)
    assert (await bot.jobs.get_job(job_id_of(again))).guild_id == emu.guilds[0].id
