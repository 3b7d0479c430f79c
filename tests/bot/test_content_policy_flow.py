"""Flagged images end to end, and what leaves the bot: a stand-in safety checker flags image #2 of every batch in
the engine process; the flag reaches the database, and each server's content policy decides what members see.
Uploaded PNGs carry only the A1111 parameters and the job id; a failed job shows a reason and a reference."""

from __future__ import annotations

import functools
import io
import json
import re
import struct

import pytest
from PIL import Image

from bot.client import ImagineBot
from engine.outputs import JOB_CHUNK, PARAMETERS_CHUNK, RECORD_CHUNK
from jobs.results import RESULT_FILE
from sandbox.discord import DiscordEmulator, Message
from tests.bot.helpers import GENERATION_TIMEOUT, imagine, job_id_of, reply_to
from tests.content_filter import install_checker

PLACEHOLDER = (128, 128, 128)
SECRET_PATH = "/srv/operator/models/v1-5-pruned-emaonly.safetensors"


def build_engine(settings, device: str):
    """The tiny default model with a safety checker that flags image #2, and a failure on cue whose text names a
    local path (as a real one would)."""
    from engine.engine import Engine

    engine = Engine(settings, device=device)
    install_checker(engine.model().text_to_image, positions={1})
    run = engine.run

    def run_or_fail(request, **options):
        if request.prompt.startswith("explode"):
            raise FileNotFoundError(2, "No such file or directory", SECRET_PATH)
        return run(request, **options)

    engine.run = run_or_fail
    return engine


@pytest.fixture(scope="module")
def engine_factory(engine_settings):
    import torch

    torch.set_num_threads(1)
    return functools.partial(build_engine, engine_settings)


def text_chunks(png: bytes) -> dict[str, str]:
    """Every text chunk of a PNG, read chunk by chunk (not through the code under test)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = {}, 8
    while offset < len(png):
        length, kind = struct.unpack(">I4s", png[offset : offset + 8])
        data = png[offset + 8 : offset + 8 + length]
        if kind in (b"tEXt", b"iTXt", b"zTXt"):
            keyword, _, value = data.partition(b"\0")
            chunks[keyword.decode("latin-1")] = value.decode("latin-1")
        offset += 12 + length
    return chunks


def shown_text(message: Message) -> str:
    """The message as Discord renders it: without the backslashes that keep markdown characters literal."""
    return message.content.replace("\\", "")


def pixel(message: Message, xy: tuple[int, int]) -> tuple[int, int, int]:
    return Image.open(io.BytesIO(message.attachments[0].data)).convert("RGB").getpixel(xy)


async def config(emu: DiscordEmulator, policy: str) -> str:
    return (
        await reply_to(
            emu, await emu.send_slash_command("config", {"content_policy": policy}, user=emu.owner), "/config"
        )
    ).content


async def test_block_withholds_a_flagged_image_and_its_u_button_refuses(
    discord_emulator: DiscordEmulator, start_bot, data_dir
) -> None:
    async with start_bot(allow_dms=True) as bot:
        await check_block(discord_emulator, bot, data_dir)


async def check_block(emu: DiscordEmulator, bot: ImagineBot, data_dir) -> None:
    grid = await imagine(emu, "a red circle --seed 3")
    job = job_id_of(grid)

    stored = await bot.jobs.get_job(job)
    assert [image.flagged for image in stored.images] == [False, True, False, False]
    on_disk = json.loads((data_dir / "images" / job / RESULT_FILE).read_text())
    assert [image["flagged"] for image in on_disk["images"]] == [False, True, False, False]

    assert (
        "Image #2 was withheld: the content filter flagged it, and this server does not show flagged images."
        in shown_text(grid)
    )
    assert not grid.attachments[0].filename.startswith("SPOILER_")
    assert pixel(grid, (64 + 1, 1)) == PLACEHOLDER  # image #2's place in the grid is a grey tile...
    assert Image.open(stored.images[1].path).convert("RGB").getextrema() == ((0, 0),) * 3  # (the checker's black)
    uploaded = Image.open(io.BytesIO(grid.attachments[0].data)).convert("RGB")
    assert uploaded.crop((0, 0, 64, 64)).tobytes() == Image.open(stored.images[0].path).convert("RGB").tobytes()

    # What the uploaded grid (re-encoded around the grey tile) says about itself: the parameters and the job id.
    stored_text = Image.open(stored.grid_path).text
    assert RECORD_CHUNK in stored_text and "versions" in stored_text[RECORD_CHUNK]  # the stored file keeps it all
    assert text_chunks(grid.attachments[0].data) == {PARAMETERS_CHUNK: stored_text[PARAMETERS_CHUNK], JOB_CHUNK: job}

    refused = await reply_to(emu, await emu.click_button(grid, f"imagine:upscale:{job}:2"), "U2")
    assert refused.ephemeral and not refused.attachments
    assert refused.content == (
        "Image #2 can't be posted here: the content filter flagged it, and this server does not show flagged images."
    )
    tile = await reply_to(emu, await emu.click_button(grid, f"imagine:upscale:{job}:1"), "U1")
    assert tile.attachments[0].filename == f"{job}-1.png"
    # The tile goes out chunk-filtered, pixels untouched: only the parameters and the job id remain.
    assert text_chunks(tile.attachments[0].data) == {
        PARAMETERS_CHUNK: Image.open(stored.images[0].path).text[PARAMETERS_CHUNK],
        JOB_CHUNK: job,
    }

    # Outside a server no one chose a policy: flagged images are withheld, whatever the servers chose.
    assert "shown behind a spoiler" in await config(emu, "spoiler")
    dm = emu.dm_channel(emu.user)
    private = await imagine(emu, "a red circle --seed 3", channel=dm)
    assert pixel(private, (64 + 1, 1)) == PLACEHOLDER and not private.attachments[0].filename.startswith("SPOILER_")
    assert "flagged it, and flagged images are not shown outside a server." in shown_text(private)
    refused = await reply_to(emu, await emu.click_button(private, f"imagine:upscale:{job_id_of(private)}:2"), "DM U2")
    assert refused.content.endswith("the content filter flagged it, and flagged images are not shown outside a server.")


async def test_spoiler_and_age_restricted_policies(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    assert "**Flagged images:** blocked" in await config(emu, "block")
    assert "**Flagged images:** shown behind a spoiler" in await config(emu, "spoiler")
    spoilered = await imagine(emu, "a blue square --seed 4")
    job = job_id_of(spoilered)
    assert spoilered.attachments[0].filename == f"SPOILER_{job}.png"
    assert "Image #2 was flagged by the content filter, so this is behind a spoiler." in shown_text(spoilered)
    assert pixel(spoilered, (64 + 1, 1)) == (0, 0, 0)  # the image itself, behind the cover
    tile = await reply_to(emu, await emu.click_button(spoilered, f"imagine:upscale:{job}:2"), "U2")
    assert tile.attachments[0].filename == f"SPOILER_{job}-2.png"

    assert "only in age-restricted channels" in await config(emu, "age-restricted")
    after_dark = emu.make_channel("after-dark", nsfw=True)
    shown = await imagine(emu, "a green star --seed 5", channel=after_dark)
    assert not shown.attachments[0].filename.startswith("SPOILER_")
    assert pixel(shown, (64 + 1, 1)) == (0, 0, 0)
    assert "Image #2 was flagged by the content filter; shown because this channel is age-restricted." in shown_text(
        shown
    )
    elsewhere = await imagine(emu, "a yellow ring --seed 6")
    assert pixel(elsewhere, (64 + 1, 1)) == PLACEHOLDER
    assert "this server shows flagged images only in its age-restricted channels" in shown_text(elsewhere)

    # The place a message is posted decides, not where the job was made: /show and U2 of the age-restricted
    # channel's job, asked for in the ordinary channel.
    adult_job = job_id_of(shown)
    reposted = await reply_to(emu, await emu.send_slash_command("show", {"job": adult_job}), "/show")
    assert pixel(reposted, (64 + 1, 1)) == PLACEHOLDER and "Image #2 was withheld" in shown_text(reposted)
    there = await reply_to(emu, await emu.send_slash_command("show", {"job": adult_job}, channel=after_dark), "/show")
    assert pixel(there, (64 + 1, 1)) == (0, 0, 0)
    tile = await reply_to(emu, await emu.click_button(shown, f"imagine:upscale:{adult_job}:2"), "U2 there")
    assert tile.attachments and tile.attachments[0].filename == f"{adult_job}-2.png"


async def test_a_failed_job_shows_a_reason_and_a_reference_and_the_log_has_the_rest(
    discord_emulator: DiscordEmulator, bot: ImagineBot, caplog
) -> None:
    emu = discord_emulator
    await emu.send_slash_command("imagine", {"prompt": "explode the lighthouse"})
    failed = await emu.wait_for(
        lambda: next((m for m in emu.messages_in() if "(Failed:" in m.content), None),
        timeout=GENERATION_TIMEOUT,
        what="the failure",
    )
    reference = re.search(r"\(reference `([0-9a-f]{8})`\)\)$", failed.content)
    assert reference, failed.content
    assert "Failed: Generating the images failed because of a problem on the bot's side." in failed.content
    for leak in ("/srv", "safetensors", "Traceback", "FileNotFoundError", "No such file"):
        assert leak not in failed.content
    logged = [record.getMessage() for record in caplog.records if f"reference {reference[1]}" in record.getMessage()]
    assert len(logged) == 1 and SECRET_PATH in logged[0] and "Traceback" in logged[0]
