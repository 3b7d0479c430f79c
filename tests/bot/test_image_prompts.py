"""Image prompts: an attachment, or URLs at the start of the prompt, fetched safely and stored with the job.

A local aiohttp server plays the web: a good image, a file too large, a page that is not an image, a
decompression bomb, a server too slow to answer, redirects (a loop, and a chain whose every hop is slow),
and files of formats the bot never reads served as PNGs."""

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
from bot.image_prompts import ImagePrompts, ImageRefused
from bot.uploads import ImageEncoder
from sandbox.discord import DiscordEmulator
from tests.bot.helpers import ANSWER_TIMEOUT, finished_messages, imagine, job_id_of, reply_to, wait_for_new_result

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


def encoded(format: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(FOX)).save(buffer, format=format, **options)
    return buffer.getvalue()


def animation() -> bytes:
    """Three frames, the first of them the fox's red."""
    frames = [Image.new("RGB", (64, 64), colour) for colour in ((200, 40, 40), (40, 200, 40), (40, 40, 200))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


# Formats Pillow reads and the bot does not (EPS through Ghostscript, where it is installed), each sent as a PNG.
OTHER_FORMATS = {name: encoded(name) for name in ("BMP", "TIFF", "EPS")}
NOT_THE_FOUR = "its content is not a PNG, JPEG, WebP or GIF image"
# Each hop of /chain/… answers in HOP seconds, under the tests' 1 s fetch limit; the four (three redirects
# and the image) take 2.4 s together.
HOP = 0.6


@contextlib.asynccontextmanager
async def the_web(seen: list[str] | None = None, held: asyncio.Event | None = None) -> AsyncIterator[str]:
    """The web at the address yielded; the path of every request it receives is added to `seen`; /held.png
    answers once `held` is set."""

    async def image(data: bytes, kind: str = "image/png") -> web.Response:
        return web.Response(body=data, content_type=kind)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(body=FOX, content_type="image/png")

    async def held_image(request: web.Request) -> web.Response:
        assert held is not None, "/held.png needs the_web(held=...)"
        await held.wait()
        return web.Response(body=FOX, content_type="image/png")

    async def chain(request: web.Request) -> web.Response:
        await asyncio.sleep(HOP)
        hop = int(request.match_info["hop"])
        if hop < 3:
            raise web.HTTPFound(f"/chain/{hop + 1}")
        return web.Response(body=FOX, content_type="image/png")

    @web.middleware
    async def record(request: web.Request, handler) -> web.StreamResponse:
        if seen is not None:
            seen.append(request.path)
        return await handler(request)

    routes = [
        web.get("/fox.png", lambda request: image(FOX)),
        web.get("/large.png", lambda request: image(noise_png() * 2)),
        web.get("/bomb.png", lambda request: image(BOMB)),
        web.get("/page.html", lambda request: web.Response(text="<html>hi</html>", content_type="text/html")),
        web.get("/slow.png", slow),
        web.get("/held.png", held_image),
        web.get("/moved", lambda request: web.HTTPFound("/fox.png")),
        web.get("/loop", lambda request: web.HTTPFound("/loop")),
        web.get("/chain/{hop}", chain),
        web.get("/fox.jpg", lambda request: image(encoded("JPEG"), "image/jpeg")),
        web.get("/fox.webp", lambda request: image(encoded("WEBP", lossless=True), "image/webp")),
        web.get("/animated.gif", lambda request: image(animation(), "image/gif")),
        *(
            web.get(f"/{name.lower()}.png", lambda request, data=data: image(data))
            for name, data in OTHER_FORMATS.items()
        ),
    ]
    app = web.Application(middlewares=[record])
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
            *((emu.upload(f"{name.lower()}.png", data), NOT_THE_FOUR) for name, data in OTHER_FORMATS.items()),
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
            **{f"{web_base}/{name.lower()}.png": NOT_THE_FOUR for name in OTHER_FORMATS},
        }
        for url, reason in refusals.items():
            answer = await reply_to(emu, await emu.send_slash_command("imagine", {"prompt": f"{url} a fox"}), url)
            assert answer.ephemeral and reason in answer.content, (url, answer.content)
        assert await bot.jobs.recent_jobs(emu.user.id) == [] and sources(data_dir) == []

        grid = await imagine(emu, f"<{web_base}/moved> {web_base}/fox.png a fox on a hill --iw 0.5")
        job = await bot.jobs.get_job(job_id_of(grid))
        assert len(job.request.image_prompts) == 2 and len(sources(data_dir)) == 1  # one image, stored once
        assert job.request.prompt == "a fox on a hill"


def local_images(folder: Path, timeout: float = 1.0) -> ImagePrompts:
    return ImagePrompts(folder, ImageEncoder(64 * 64, 1), max_bytes=MAX_BYTES, timeout=timeout, private_addresses=True)


async def test_png_jpeg_webp_and_gif_are_read_and_an_animation_gives_its_first_frame(tmp_path: Path) -> None:
    images = local_images(tmp_path / "sources")
    async with the_web() as base:
        try:
            for name in ("fox.png", "fox.jpg", "fox.webp", "animated.gif"):
                with Image.open(await images.from_url(f"{base}/{name}", member=1)) as stored:
                    assert stored.format == "PNG" and stored.size == (64, 64)
                    red, green, blue = stored.convert("RGB").getpixel((32, 32))
                    assert red > 180 and green < 60 and blue < 60, (name, (red, green, blue))
        finally:
            await images.close()


async def test_the_time_limit_covers_the_whole_fetch_every_redirect_included(tmp_path: Path) -> None:
    """Four hops of 0.6 s each fit a 1 s limit one by one and not together: the fetch is refused at the
    limit, before the chain ends (with a limit per hop, the image at its end would be fetched)."""
    seen: list[str] = []
    images = local_images(tmp_path / "sources", timeout=1.0)
    async with the_web(seen) as base:
        try:
            with pytest.raises(ImageRefused, match="took too long to download"):
                await images.from_url(f"{base}/chain/0", member=1)
        finally:
            await images.close()
    assert "/chain/3" not in seen, seen  # the image at the end of the chain was never asked for


async def test_a_member_downloads_one_image_at_a_time_and_others_are_not_held_up(tmp_path: Path) -> None:
    """The connections for members' images are shared (8): one member cannot take them all."""
    seen: list[str] = []
    held = asyncio.Event()
    images = local_images(tmp_path / "sources", timeout=60.0)
    async with the_web(seen, held) as base:
        try:
            first = asyncio.create_task(images.from_url(f"{base}/held.png", member=1))
            while "/held.png" not in seen:
                await asyncio.sleep(0.01)
            with pytest.raises(ImageRefused, match="You already have an image downloading"):
                await images.from_url(f"{base}/fox.png", member=1)
            assert Path(await images.from_url(f"{base}/fox.png", member=2)).is_file()  # someone else's goes ahead
            held.set()
            assert Path(await first).is_file()
            assert Path(await images.from_url(f"{base}/fox.png", member=1)).is_file()  # theirs ended: the next one
        finally:
            await images.close()


async def test_a_members_second_download_is_refused_while_the_first_runs(
    discord_emulator: DiscordEmulator, start_bot
) -> None:
    """/imagine passes who asked: the same member's second image is refused while their first downloads (held
    at /held.png until the test lets it go), and another member's goes ahead meanwhile."""
    emu = discord_emulator
    bob = emu.make_user("bob")
    seen: list[str] = []
    held = asyncio.Event()
    local_bot = start_bot(image_fetch_private_addresses=True, image_prompt_max_bytes=MAX_BYTES, image_fetch_timeout=60)
    async with the_web(seen, held) as base, local_bot:
        first = await emu.send_slash_command("imagine", {"prompt": f"{base}/held.png a fox"})
        await emu.wait_for(lambda: "/held.png" in seen, timeout=ANSWER_TIMEOUT, what="the first download")
        second = await emu.send_slash_command("imagine", {"prompt": f"{base}/fox.png a fox"})
        answer = await reply_to(emu, second, "the second image")
        assert answer.ephemeral and "You already have an image downloading" in answer.content, answer.content
        bobs = await emu.send_slash_command("imagine", {"prompt": f"{base}/fox.png a fox"}, user=bob)
        assert "Queued" in (await reply_to(emu, bobs, "bob's image")).content
        assert not first.followups and first.original.loading  # while the first was still downloading
        held.set()
        assert "Queued" in (await reply_to(emu, first, "the first image")).content


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
