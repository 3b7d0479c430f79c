"""Delivery that survives what Discord and operators do: restarts, expired tokens, 429s, 5xx, size caps, and a
database that refuses for a while."""

from __future__ import annotations

import io
import logging
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from bot.client import ImagineBot
from jobs import database
from sandbox.discord import DiscordEmulator
from tests.bot.helpers import (
    ANSWER_TIMEOUT,
    eventually,
    finished_messages,
    imagine,
    job_id_of,
    reply_to,
    wait_for_new_result,
)


async def test_restart_finishes_pending_jobs_and_old_buttons_work(
    discord_emulator: DiscordEmulator, start_bot, make_jobs
) -> None:
    emu = discord_emulator
    async with start_bot():
        earlier = await imagine(emu, "a red barn")

    async with start_bot(jobs=make_jobs(process_jobs=False)):  # a bot whose jobs cannot run yet
        command = await emu.send_slash_command("imagine", {"prompt": "a blue barn"})
        assert "Queued as job" in (await reply_to(emu, command, "the receipt")).content
        waiting = await emu.wait_for(
            lambda: next((m for m in emu.messages_in() if "a blue barn" in m.content and not m.interaction_id), None),
            timeout=ANSWER_TIMEOUT,
            what="the waiting message",
        )
        assert "Waiting to start" in waiting.content and not waiting.attachments

    async with start_bot():
        await emu.wait_for(
            lambda: waiting.attachments and len(waiting.custom_ids()) == 10,
            timeout=180,
            what="the pending job delivered into its old message after the restart",
        )
        press = await emu.click_button(earlier, f"imagine:upscale:{job_id_of(earlier)}:4")
        image = await reply_to(emu, press, "image #4 from a grid made before the restart")
        assert image.attachments and "Image #4" in image.content


async def test_delivery_needs_no_interaction_token(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    command = await emu.send_slash_command("imagine", {"prompt": "an hourglass"})
    await emu.wait_for(lambda: command.deferred, timeout=ANSWER_TIMEOUT, what="the defer")
    emu.expire_token(command.token)

    grid = await wait_for_new_result(emu, 0, "the grid, delivered after the interaction token expired")
    assert len(grid.custom_ids()) == 10
    assert emu.requests_matching(rf"PATCH /channels/{emu.channel.id}/messages/{grid.id}")


async def test_rate_limits_and_server_errors_do_not_lose_the_job(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    emu = discord_emulator
    emu.fail_next(r"POST /channels/\d+/messages$", status=502)
    emu.fail_next(r"PATCH /channels/\d+/messages/\d+", status=429, count=2)
    emu.fail_next(r"PATCH /channels/\d+/messages/\d+", status=500, count=1)

    grid = await imagine(emu, "a storm over the sea")

    assert len(grid.custom_ids()) == 10 and grid.attachments[0].filename.endswith(".png")
    statuses = {record.status for record in emu.requests_matching(r"/channels/\d+/messages")}
    assert {429, 500, 502} <= statuses


async def test_large_grids_fall_back_to_webp_or_jpeg(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    grid = await imagine(emu, "a field of sunflowers --seed 3")
    job = job_id_of(grid)
    png_size = grid.attachments[0].size
    emu.attachment_size_limit = png_size // 2

    before = len(finished_messages(emu))
    await emu.send_slash_command("reproduce", {"job": job})
    again = await wait_for_new_result(emu, before, "the reproduction under a small upload limit")

    upload = again.attachments[0]
    assert upload.filename.endswith((".webp", ".jpg")) and upload.size <= png_size // 2
    assert Image.open(io.BytesIO(upload.data)).size == (128, 128)
    reproduced = await bot.jobs.get_job(job_id_of(again))
    assert reproduced.grid_path.read_bytes().startswith(b"\x89PNG")  # the lossless original stays on disk

    press = await emu.click_button(again, f"imagine:upscale:{job_id_of(again)}:1")
    tile = await reply_to(emu, press, "a tile under the small limit")
    assert tile.attachments[0].size <= png_size // 2


async def test_a_database_that_refuses_for_a_while_delays_the_delivery_instead_of_dropping_it(
    discord_emulator: DiscordEmulator, start_bot, data_dir: Path, monkeypatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The grid is on Discord, and the database refuses to mark the job delivered: another process holds its
    write lock past the busy timeout. The delivery tries again, and marks the job once the lock is gone, without
    waiting for the bot's next start."""
    emu = discord_emulator
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 1000)  # a refusal after 1 s rather than 30
    caplog.set_level(logging.WARNING, logger="bot.delivery")
    final_edit = emu.hold(
        r"PATCH /channels/\d+/messages/\d+",
        applied=True,
        body_matches=lambda body: bool(body.payload.get("components")),
    )
    async with start_bot() as bot:
        await emu.send_slash_command("imagine", {"prompt": "a lighthouse in fog"})
        await final_edit.wait()
        [job] = await bot.jobs.recent_jobs(emu.user.id)

        async def refused() -> bool:
            return any(job.public_id in record.getMessage() for record in caplog.records)

        async def delivered() -> bool:
            return (await bot.jobs.get_job(job.public_id)).delivered_at is not None

        lock = sqlite3.connect(data_dir / "imagine.db", isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")
            final_edit.release()
            await eventually(refused, "the database refusing the delivery's write")
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        await eventually(delivered, "the job marked delivered once the database is back", timeout=30)
    assert any("marking it delivered failed" in record.getMessage() for record in caplog.records)
    [grid] = finished_messages(emu)
    assert job_id_of(grid) == job.public_id and len(grid.custom_ids()) == 10
