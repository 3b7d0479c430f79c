"""A job belongs to its server: no other server, DM or odd id walks around the rules where it was made."""

from __future__ import annotations

from bot.client import ImagineBot
from sandbox.discord import DiscordEmulator
from tests.bot.helpers import ANSWER_TIMEOUT, imagine, job_id_of, reply_to


def posted_in(emu: DiscordEmulator, channel) -> list:
    """What everyone in `channel` can see (not the private replies)."""
    return [message for message in emu.messages_in(channel) if not message.ephemeral]


async def test_a_job_from_one_server_is_only_its_owners_in_another(
    discord_emulator: DiscordEmulator, start_bot
) -> None:
    emu = discord_emulator
    other = emu.make_guild("Server B")
    there = other.channels[0]
    bob = emu.make_user("bob", guild=other)
    other.member_roles[emu.user.id] = []  # alice is in both servers
    async with start_bot() as bot:
        grid = await imagine(emu, "a lighthouse at dusk")
        job = job_id_of(grid)

        for command in ("show", "reproduce"):
            sent = await emu.send_slash_command(command, {"job": job}, user=bob, guild=other, channel=there)
            answer = await reply_to(emu, sent, f"the {command} refusal")
            assert answer.ephemeral and "was made somewhere else" in answer.content
        assert posted_in(emu, there) == [] and await bot.jobs.recent_jobs(bob.id) == []

        # Alice takes her own job along; a repost pings nobody.
        sent = await emu.send_slash_command("show", {"job": job}, guild=other, channel=there)
        repost = await emu.wait_for(
            lambda: next((message for message in posted_in(emu, there) if message.attachments), None),
            timeout=ANSWER_TIMEOUT,
            what="the repost",
        )
        assert repost.attachments and repost.custom_ids() and repost.allowed_mentions["parse"] == []
        assert f"<@{emu.user.id}>" in repost.content
        # ... but its buttons are not Bob's to press there, nor is the image's record.
        for custom_id in (f"imagine:vary:{job}:1:strong", f"imagine:upscale:{job}:1", f"imagine:reroll:{job}"):
            answer = await reply_to(emu, await emu.click_button(repost, custom_id, user=bob), "the press refusal")
            assert answer.ephemeral and "was made somewhere else" in answer.content
        assert await bot.jobs.recent_jobs(bob.id) == []

        # Server B's own rules hold for what Alice brings along.
        config = await emu.send_slash_command(
            "config", {"banned_words": "lighthouse"}, user=emu.owner, guild=other, channel=there
        )
        await reply_to(emu, config, "the config")
        sent = await emu.send_slash_command("reproduce", {"job": job}, guild=other, channel=there)
        answer = await reply_to(emu, sent, "the banned word refusal")
        assert answer.ephemeral and "This server doesn't allow these words in prompts: lighthouse" in answer.content


async def test_commands_are_for_servers_unless_the_operator_allows_dms(
    discord_emulator: DiscordEmulator, start_bot
) -> None:
    emu = discord_emulator
    dm = emu.dm_channel(emu.user)
    async with start_bot() as bot:
        assert all(command["contexts"] == [0] for command in emu.command_syncs[-1].commands)
        # A registration made before (global commands stay until synced again) still gets nowhere.
        sent = await emu.send_slash_command("imagine", {"prompt": "a fox"}, channel=dm)
        answer = await reply_to(emu, sent, "the DM refusal")
        assert answer.ephemeral and "commands in direct messages are turned off" in answer.content
        assert posted_in(emu, dm) == [] and await bot.jobs.recent_jobs(emu.user.id) == []

    async with start_bot(allow_dms=True, dm_banned_words=["spider"]):
        assert all(sorted(command["contexts"]) == [0, 1] for command in emu.command_syncs[-1].commands)
        sent = await emu.send_slash_command("imagine", {"prompt": "a giant Ｓｐｉｄｅｒ"}, channel=dm)
        answer = await reply_to(emu, sent, "the DM banned word refusal")
        assert "DMs with this bot don't allow these words in prompts: spider" in answer.content
        grid = await imagine(emu, "a fox in the snow", channel=dm)
        assert grid.channel_id == dm.id and grid.attachments


async def test_a_job_made_in_dms_is_only_its_owners(discord_emulator: DiscordEmulator, start_bot) -> None:
    emu = discord_emulator
    bob = emu.make_user("bob")
    alices, bobs = emu.dm_channel(emu.user), emu.dm_channel(bob)
    async with start_bot(allow_dms=True) as bot:
        grid = await imagine(emu, "a letter to myself", channel=alices)
        job = job_id_of(grid)
        assert (await bot.jobs.get_job(job)).guild_id is None

        # Bob's DMs are outside any server too, but not the place Alice's job was made in.
        for command in ("show", "reproduce"):
            sent = await emu.send_slash_command(command, {"job": job}, user=bob, channel=bobs)
            answer = await reply_to(emu, sent, f"the {command} refusal")
            assert answer.ephemeral and "was made somewhere else" in answer.content
        assert posted_in(emu, bobs) == [] and await bot.jobs.recent_jobs(bob.id) == []

        # Alice still may.
        shown = await reply_to(emu, await emu.send_slash_command("show", {"job": job}, channel=alices), "the repost")
        assert shown.attachments and shown.channel_id == alices.id


async def test_banned_words_are_caught_through_unicode_tricks(
    discord_emulator: DiscordEmulator, bot: ImagineBot
) -> None:
    emu = discord_emulator
    await reply_to(emu, await emu.send_slash_command("config", {"banned_words": "gore"}, user=emu.owner), "config")
    tricks = ("ｇｏｒｅ", "go\u200bre", "GÖRE", "g\u00adore", "gоre", "𝐠𝐨𝐫𝐞", "g\u200dore\u202e")
    for trick in tricks:
        sent = await emu.send_slash_command("imagine", {"prompt": f"a scene of {trick}"})
        answer = await reply_to(emu, sent, f"the refusal of {trick!r}")
        assert answer.ephemeral and "allow these words in prompts: gore" in answer.content, trick
    assert posted_in(emu, emu.channel) == [] and await bot.jobs.recent_jobs(emu.user.id) == []


async def test_job_ids_from_members_are_checked_before_use(discord_emulator: DiscordEmulator, bot: ImagineBot) -> None:
    emu = discord_emulator
    for typed in ("x" * 6000, "`@everyone`", "[prize](https://example.com)", "../../etc/passwd"):
        for command in ("show", "reproduce", "cancel"):
            answer = await reply_to(emu, await emu.send_slash_command(command, {"job": typed}), "the refusal")
            assert answer.ephemeral and answer.content.startswith("That is not a job id"), (command, typed)
            assert typed not in answer.content
