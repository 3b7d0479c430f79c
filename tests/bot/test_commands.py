"""The slash commands besides /imagine, and every refusal reaching the user privately."""

from __future__ import annotations

from bot.client import ImagineBot
from engine.loras import parse_loras
from sandbox.discord import DiscordEmulator
from tests.bot.helpers import ANSWER_TIMEOUT, imagine, job_id_of, reply_to

COMMANDS = {"imagine", "blend", "describe", "reproduce", "show", "history", "cancel", "info", "settings", "config"}


def channel_posts(emu: DiscordEmulator) -> list:
    return [message for message in emu.messages_in() if message.interaction_id is None]


async def test_commands_are_synced_to_the_configured_guild(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    synced = [sync for sync in discord_emulator.command_syncs if sync.guild_id == discord_emulator.guild.id]
    assert synced and {command["name"] for command in synced[-1].commands} == COMMANDS


async def test_a_bad_flag_is_explained_privately_and_queues_nothing(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    emu = discord_emulator
    command = await emu.send_slash_command("imagine", {"prompt": "a fox --ar wide"})
    answer = await reply_to(emu, command, "the flag error")
    assert answer.ephemeral and "--ar expects" in answer.content
    assert channel_posts(emu) == []
    assert await bot.jobs.recent_jobs(emu.user.id) == []


async def test_guild_rules_refuse_banned_words_and_other_channels(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    emu = discord_emulator
    images = emu.make_channel("images")
    config = await emu.send_slash_command(
        "config", {"allowed_channels": f"<#{images.id}>", "banned_words": "gore, spider"}, user=emu.owner
    )
    assert "spider" in (await reply_to(emu, config, "the config")).content

    elsewhere = await emu.send_slash_command("imagine", {"prompt": "a kitten"})
    assert "use <#" in (await reply_to(emu, elsewhere, "the channel refusal")).content
    banned = await emu.send_slash_command("imagine", {"prompt": "a Spider web"}, channel=images)
    answer = await reply_to(emu, banned, "the banned word refusal")
    assert answer.ephemeral and "spider" in answer.content
    assert channel_posts(emu) == [] and emu.messages_in(images) == [answer]


async def test_a_word_banned_after_the_grid_stops_its_buttons(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    emu = discord_emulator
    grid = await imagine(emu, "a spider on a wall")
    job = job_id_of(grid)
    await reply_to(emu, await emu.send_slash_command("config", {"banned_words": "spider"}, user=emu.owner), "config")

    presses = (
        lambda: emu.click_button(grid, f"imagine:reroll:{job}"),
        lambda: emu.click_button(grid, f"imagine:vary:{job}:1:strong"),
        lambda: emu.send_slash_command("reproduce", {"job": job}),
    )
    for press in presses:
        answer = await reply_to(emu, await press(), "the banned word refusal")
        assert answer.ephemeral and "spider" in answer.content
    assert len(await bot.jobs.recent_jobs(emu.user.id)) == 1


async def test_history_show_and_info(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    grid = await imagine(emu, "a snail on a leaf")
    job = job_id_of(grid)

    history = await reply_to(emu, await emu.send_slash_command("history"), "the history")
    assert history.ephemeral and f"`{job}`" in history.content and "a snail on a leaf" in history.content

    await emu.send_slash_command("show", {"job": job})
    shown = await emu.wait_for(
        lambda: next((m for m in emu.messages_in() if m.interaction_id and m.attachments and m.custom_ids()), None),
        timeout=ANSWER_TIMEOUT,
        what="the re-posted grid",
    )
    assert shown.custom_ids() == grid.custom_ids()
    assert shown.attachments[0].data == grid.attachments[0].data

    info = await reply_to(emu, await emu.send_slash_command("info"), "the info")
    assert "**Queue:** 0 waiting" in info.content and "**Devices:** cpu" in info.content


async def test_cancel_and_the_queue_cap(discord_emulator: DiscordEmulator, start_bot, make_jobs) -> None:
    emu = discord_emulator
    async with start_bot(jobs=make_jobs(process_jobs=False, max_queued_per_user=1)):
        await emu.send_slash_command("imagine", {"prompt": "a slow turtle"})
        waiting = await emu.wait_for(
            lambda: channel_posts(emu) and channel_posts(emu)[0], timeout=ANSWER_TIMEOUT, what="the waiting job"
        )

        refused = await emu.send_slash_command("imagine", {"prompt": "one more turtle"})
        answer = await reply_to(emu, refused, "the queue cap refusal")
        assert answer.ephemeral and len(channel_posts(emu)) == 1

        cancel = await emu.send_slash_command("cancel")
        assert "Cancelled job" in (await reply_to(emu, cancel, "the cancel reply")).content
        await emu.wait_for(
            lambda: waiting.content.endswith("(Cancelled)"), timeout=ANSWER_TIMEOUT, what="the message to say Cancelled"
        )


async def test_show_refuses_unknown_jobs_privately(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    answer = await reply_to(
        discord_emulator, await discord_emulator.send_slash_command("show", {"job": "nope"}), "the refusal"
    )
    assert answer.ephemeral and "There is no job `nope`" in answer.content


async def test_a_model_the_operator_did_not_register_is_refused_and_queues_nothing(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    """Neither a hub id (a 40 GB download on the operator's disk and token) nor a path is accepted from a member."""
    emu = discord_emulator
    for model in ("stabilityai/stable-diffusion-3.5-large", "data/bench-models/sd15", "default2"):
        command = await emu.send_slash_command("imagine", {"prompt": f"a fox --model {model}"})
        answer = await reply_to(emu, command, "the model refusal")
        assert answer.ephemeral and "--model expects one of this server's models: default" in answer.content
    settings = await emu.send_slash_command("settings", {"model": "stabilityai/sdxl-turbo"})
    answer = await reply_to(emu, settings, "the settings refusal")
    assert answer.ephemeral and "this server has no model 'stabilityai/sdxl-turbo'" in answer.content
    assert channel_posts(emu) == [] and await bot.jobs.recent_jobs(emu.user.id) == []
    info = await reply_to(emu, await emu.send_slash_command("info"), "the info")
    assert "`default` — the server's model" in info.content


async def test_info_lists_the_registered_models_and_loras_but_no_paths(
    discord_emulator: DiscordEmulator, start_bot, engine_settings
) -> None:
    limits = engine_settings.model_copy(
        update={"loras": parse_loras("ink=/srv/loras/ink.safetensors?weight=0.8&description=inked lines")}
    )
    async with start_bot(limits=limits):
        info = await reply_to(discord_emulator, await discord_emulator.send_slash_command("info"), "the info")
    assert "`ink` — inked lines (for default; weight 0.8)" in info.content
    assert "/srv" not in info.content
