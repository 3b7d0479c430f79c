"""Permutation prompts and --repeat through the real bot: one /imagine, several jobs, each bounded and checked
before anything is queued."""

from __future__ import annotations

from sandbox.discord import DiscordEmulator
from tests.bot.helpers import ANSWER_TIMEOUT, reply_to


async def imagine_reply(emu: DiscordEmulator, prompt: str) -> str:
    sent = await emu.send_slash_command("imagine", {"prompt": prompt})
    return (await reply_to(emu, sent, "the reply")).content


async def imagine_receipts(emu: DiscordEmulator, prompt: str, count: int) -> list[str]:
    """The replies to an /imagine that makes `count` jobs, once all are there. The bot queues them one at a time, each
    job's receipt sent before the next is submitted: after the first reply the others may not be queued yet."""
    sent = await emu.send_slash_command("imagine", {"prompt": prompt})
    replies = await emu.wait_for(
        lambda: len(sent.followups) >= count and sent.followups, timeout=ANSWER_TIMEOUT, what=f"{count} receipts"
    )
    return [reply.content for reply in replies]


async def queued_prompts(bot, user_id: int) -> list[str]:
    return sorted(job.request.prompt for job in await bot.jobs.recent_jobs(user_id))


async def test_options_and_repeat_make_one_job_each(discord_emulator: DiscordEmulator, start_bot, make_jobs) -> None:
    emu = discord_emulator
    async with start_bot(jobs=make_jobs(process_jobs=False)) as bot:
        receipts = await imagine_receipts(emu, "a {red, blue} fox --seed 3", 2)
        assert len(receipts) == 2 and all(receipt.startswith("Queued as job") for receipt in receipts)
        assert await queued_prompts(bot, emu.user.id) == ["a blue fox", "a red fox"]
        assert all(job.request.seed == 3 for job in await bot.jobs.recent_jobs(emu.user.id))

        receipts = await imagine_receipts(emu, "a cat --repeat 2", 2)
        assert len(receipts) == 2 and all(receipt.startswith("Queued as job") for receipt in receipts)
        assert (await queued_prompts(bot, emu.user.id)).count("a cat") == 2


async def test_too_many_jobs_and_hidden_banned_words_queue_nothing(
    discord_emulator: DiscordEmulator, start_bot, make_jobs
) -> None:
    emu = discord_emulator
    async with start_bot(jobs=make_jobs(process_jobs=False)) as bot:
        refused = await imagine_reply(emu, "a {red, green, blue} {fox, owl}")
        assert "make 6 prompts, more than the 4 jobs one /imagine may start" in refused
        refused = await imagine_reply(emu, "a fox --repeat 5")
        assert "--repeat expects a whole number from 1 to 4" in refused
        refused = await imagine_reply(emu, "a {fox --ar wide, owl}")
        assert "--ar expects" in refused  # every text is parsed before the first job is queued

        sent = await emu.send_slash_command("config", {"banned_words": "gore"}, user=emu.owner)
        await reply_to(emu, sent, "the config")
        refused = await imagine_reply(emu, "a go{r,}e scene")  # `gore` only once expanded
        assert "This server doesn't allow these words in prompts: gore" in refused
        assert await bot.jobs.recent_jobs(emu.user.id) == []


async def test_a_cap_reached_part_way_keeps_the_queued_jobs(
    discord_emulator: DiscordEmulator, start_bot, make_jobs
) -> None:
    emu = discord_emulator
    async with start_bot(jobs=make_jobs(process_jobs=False, max_queued_per_user=2)) as bot:
        sent = await emu.send_slash_command("imagine", {"prompt": "a {red, green, blue} fox"})
        replies = await emu.wait_for(
            lambda: len(sent.followups) == 3 and sent.followups, timeout=ANSWER_TIMEOUT, what="three replies"
        )
        assert [reply.content.startswith("Queued as job") for reply in replies[:2]] == [True, True]
        assert replies[2].ephemeral and replies[2].content.startswith(
            "Queued 2 of the 3 jobs this prompt makes; the rest were not: You already have"
        )
        assert await queued_prompts(bot, emu.user.id) == ["a green fox", "a red fox"]
