"""Image prompts: an attachment, or URLs at the start of the prompt, fetched safely and stored with the job.

A local aiohttp server plays the web: a good image, a file too large, a page that is not an image, a
decompression bomb, a server too slow to answer, and redirects."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from PIL import Image

from bot.client import ImagineBot
from bot.image_prompts import ImagePrompts
from bot.uploads import ImageEncoder
from sandbox.discord import DiscordEmulator
from tests.bot.helpers import finished_messages, imagine, job_id_of, reply_to, wait_for_new_result

MAX_BYTES = 64 * 1024


def png(size: tuple[int, int], colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


FOX = png((64, 64))
# A few kilobytes that decode into far more pixels than any image the test bot makes (64² images).
BOMB = png((4000, 4000), (0, 0, 0))
NOISE = Image.effect_noise((200, 200), 100).convert("RGB")


def noise_png() -> bytes:
    buffer = io.BytesIO()
    NOISE.save(buffer, format="PNG")
    return buffer.getvalue()


@contextlib.asynccontextmanager
async def the_web() -> AsyncIterator[str]:
    async def image(data: bytes) -> web.Response:
        return web.Response(body=data, content_type="image/png")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(body=FOX, content_type="image/png")

    routes = [
        web.get("/fox.png", lambda request: image(FOX)),
        web.get("/large.png", lambda request: image(noise_png() * 2)),
        web.get("/bomb.png", lambda request: image(BOMB)),
        web.get("/page.html", lambda request: web.Response(text="<html>hi</html>", content_type="text/html")),
        web.get("/slow.png", slow),
        web.get("/moved", lambda request: web.HTTPFound("/fox.png")),
        web.get("/loop", lambda request: web.HTTPFound("/loop")),
    ]
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app)
    await runner.setup()
    listener = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, listener).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture
async def web_base() -> AsyncIterator[str]:
    async with the_web() as base:
        yield base


@pytest.fixture
def local_web_bot(start_bot):
    """A bot allowed to fetch from this machine (only the tests' web lives there), with small limits."""
    return start_bot(image_fetch_private_addresses=True, image_prompt_max_bytes=MAX_BYTES, image_fetch_timeout=1.0)


def sources(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "sources").glob("*.png"))


async def test_an_attached_image_starts_the_job_and_is_stored_with_it(
    discord_emulator: DiscordEmulator, bot: ImagineBot, data_dir: Path
) -> None:
    emu = discord_emulator
    attachment = emu.upload("fox.png", FOX)
    before = len(finished_messages(emu))
    await emu.send_slash_command("imagine", {"prompt": "a red fox --iw 2", "image": attachment})
    grid = await wait_for_new_result(emu, before, "the grid")
    job = await bot.jobs.get_job(job_id_of(grid))
    [stored] = sources(data_dir)
    assert job.request.image_prompts == (str(stored.resolve()),) and job.request.image_weight == 2
    with Image.open(stored) as kept:
        assert kept.tobytes() == Image.open(io.BytesIO(FOX)).convert("RGB").tobytes()

    # 🔄 starts from the same image; /reproduce makes the same pixels.
    rerolled = await reply_to(emu, await emu.click_button(grid, f"imagine:reroll:{job.public_id}"), "the receipt")
    assert "Queued" in rerolled.content
    again = await wait_for_new_result(emu, before + 1, "the reroll")
    assert (await bot.jobs.get_job(job_id_of(again))).request.image_prompts == job.request.image_prompts
    await reply_to(emu, await emu.send_slash_command("reproduce", {"job": job.public_id}), "the receipt")
    reproduced = await wait_for_new_result(emu, before + 2, "the reproduction")
    assert reproduced.attachments[0].data != b"" and _pixels(reproduced) == _pixels(grid)


def _pixels(message) -> bytes:
    return Image.open(io.BytesIO(message.attachments[0].data)).convert("RGB").tobytes()


async def test_an_image_given_again_is_stored_once_and_looks_just_given(tmp_path: Path) -> None:
    """The sweep of DATA_DIR/sources spares files changed within the hour (`jobs.sources`): an old copy that no
    job names any more must look new when a member gives the same image for a job about to be submitted."""
    images = ImagePrompts(
        tmp_path / "sources", ImageEncoder(64 * 64, 1), max_bytes=MAX_BYTES, timeout=1.0, private_addresses=False
    )
    stored = Path(await images.store(FOX, "fox.png"))
    os.utime(stored, (0, 0))  # stored in 1970
    assert Path(await images.store(FOX, "fox.png")) == stored and time.time() - stored.stat().st_mtime < 60
    stored.unlink()  # the sweep took it just before
    assert Path(await images.store(FOX, "fox.png")) == stored and stored.is_file()


async def test_attachments_that_are_not_images_or_too_large_are_refused(
    discord_emulator: DiscordEmulator, start_bot, data_dir: Path
) -> None:
    emu = discord_emulator
    async with start_bot(image_prompt_max_bytes=MAX_BYTES) as bot:
        for attachment, reason in (
            (emu.upload("notes.txt", b"hello", "text/plain"), "is not a PNG, JPEG, WebP or GIF image"),
            (emu.upload("huge.png", noise_png() * 2), "images may be 0.1 MiB"),
            (emu.upload("bomb.png", BOMB), "larger than any image the bot makes"),
        ):
            sent = await emu.send_slash_command("imagine", {"prompt": "a fox", "image": attachment})
            answer = await reply_to(emu, sent, "the refusal")
            assert answer.ephemeral and reason in answer.content, answer.content
        assert await bot.jobs.recent_jobs(emu.user.id) == [] and sources(data_dir) == []


async def test_image_urls_are_fetched_within_bounds(
    discord_emulator: DiscordEmulator, local_web_bot, web_base: str, data_dir: Path
) -> None:
    emu = discord_emulator
    async with local_web_bot as bot:
        refusals = {
            f"{web_base}/large.png": "larger than 0.1 MiB",
            f"{web_base}/page.html": "is not a PNG, JPEG, WebP or GIF image",
            f"{web_base}/bomb.png": "larger than any image the bot makes",
            f"{web_base}/slow.png": "took too long",
            f"{web_base}/loop": "redirects more than 3 times",
            f"{web_base}/missing.png": "answered 404",
        }
        for url, reason in refusals.items():
            answer = await reply_to(emu, await emu.send_slash_command("imagine", {"prompt": f"{url} a fox"}), url)
            assert answer.ephemeral and reason in answer.content, (url, answer.content)
        assert await bot.jobs.recent_jobs(emu.user.id) == [] and sources(data_dir) == []

        grid = await imagine(emu, f"<{web_base}/moved> {web_base}/fox.png a fox on a hill --iw 0.5")
        job = await bot.jobs.get_job(job_id_of(grid))
        assert len(job.request.image_prompts) == 2 and len(sources(data_dir)) == 1  # one image, stored once
        assert job.request.prompt == "a fox on a hill"


async def test_the_bot_never_fetches_from_its_own_networks_unless_allowed(
    discord_emulator: DiscordEmulator, bot: ImagineBot, web_base: str, data_dir: Path
) -> None:
    """A member's URL must not make the bot read the operator's machine or LAN."""
    emu = discord_emulator
    port = web_base.rsplit(":", 1)[1]
    for url in (f"{web_base}/fox.png", f"http://localhost:{port}/fox.png", f"http://[::1]:{port}/fox.png"):
        answer = await reply_to(emu, await emu.send_slash_command("imagine", {"prompt": f"{url} a fox"}), url)
        assert answer.ephemeral and "not a public address" in answer.content, (url, answer.content)
    assert await bot.jobs.recent_jobs(emu.user.id) == [] and sources(data_dir) == []
    # Other schemes are not image prompts at all: they stay words of the prompt.
    grid = await imagine(emu, "file:///etc/passwd a fox")
    assert (await bot.jobs.get_job(job_id_of(grid))).request.prompt == "file:///etc/passwd a fox"


async def test_blend_takes_two_to_five_images(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    red, blue = emu.upload("red.png", png((64, 64))), emu.upload("blue.png", png((48, 64), (20, 20, 220)))
    before = len(finished_messages(emu))
    await emu.send_slash_command("blend", {"image1": red, "image2": blue, "shape": "2:3"})
    grid = await wait_for_new_result(emu, before, "the blend")
    job = await bot.jobs.get_job(job_id_of(grid))
    assert job.kind == "blend" and len(job.request.image_prompts) == 2 and job.request.aspect == (2, 3)
