"""/imagine end to end: deferred at once, progress edits, a grid with ten working buttons."""

from __future__ import annotations

import io

from PIL import Image

from bot.client import ImagineBot
from sandbox.discord import DiscordEmulator
from tests.bot.helpers import ANSWER_TIMEOUT, finished_messages, job_id_of, wait_for_new_result

GRID_BUTTONS = [
    "upscale:{job}:1",
    "upscale:{job}:2",
    "upscale:{job}:3",
    "upscale:{job}:4",
    "reroll:{job}",
    "vary:{job}:1:strong",
    "vary:{job}:2:strong",
    "vary:{job}:3:strong",
    "vary:{job}:4:strong",
    "delete:{user}",
]


async def test_imagine_posts_a_grid_with_ten_buttons(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    command = await emu.send_slash_command("imagine", {"prompt": "a red fox in snow --seed 7"})
    await emu.wait_for(lambda: command.deferred, timeout=ANSWER_TIMEOUT, what="the command to be deferred")

    grid_message = await wait_for_new_result(emu, 0, "the finished grid")

    job = job_id_of(grid_message)
    assert grid_message.custom_ids() == [
        f"imagine:{button.format(job=job, user=emu.user.id)}" for button in GRID_BUTTONS
    ]
    assert grid_message.content.startswith("**a red fox in snow --seed 7")
    assert f"<@{emu.user.id}>" in grid_message.content
    grid = Image.open(io.BytesIO(grid_message.attachments[0].data))
    assert grid.format == "PNG" and grid.size == (128, 128)
    shown = [version.content for version in grid_message.history]
    assert "Waiting to start" in shown[0]
    progress = [version for version in grid_message.history if version.content.endswith("%)")]
    assert progress, shown
    assert any(version.attachments for version in progress), "no progress edit carried a preview"


async def test_u1_sends_tile_one_of_the_grid(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    await emu.send_slash_command("imagine", {"prompt": "a lighthouse"})
    grid_message = await wait_for_new_result(emu, 0, "the finished grid")
    job = job_id_of(grid_message)

    press = await emu.click_button(grid_message, f"imagine:upscale:{job}:1")
    reply = await emu.wait_for(
        lambda: press.original and press.original.attachments and press.original,
        timeout=ANSWER_TIMEOUT,
        what="the separated image",
    )

    grid = Image.open(io.BytesIO(grid_message.attachments[0].data)).convert("RGB")
    tile = Image.open(io.BytesIO(reply.attachments[0].data)).convert("RGB")
    assert tile.size == (64, 64)
    assert tile.tobytes() == grid.crop((0, 0, 64, 64)).tobytes()
    assert f"Image #1 <@{emu.user.id}>" in reply.content
    assert len(reply.custom_ids()) == 15  # a square image: no Make Square
    assert len(finished_messages(emu)) == 1  # the tile is the interaction's reply, not a new job


async def test_a_prompt_longer_than_the_token_window_says_what_was_ignored(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    emu = discord_emulator
    words = " ".join(f"word{number}" for number in range(60))
    await emu.send_slash_command("imagine", {"prompt": f"{words} --seed 3"})
    grid_message = await wait_for_new_result(emu, 0, "the finished grid")

    assert "⚠️ Your prompt is" in grid_message.content
    assert "the end was ignored" in grid_message.content and "word59" in grid_message.content
    assert len(grid_message.content) <= 2000
