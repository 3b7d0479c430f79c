"""/describe through the real bot: without a captioner it says how to turn it on; with a tiny one, four numbered
suggestions under the image, each ending with the image's --ar, 1️⃣–4️⃣ /imagine one of them (read from the job,
checked like a typed prompt), Imagine all queues every one of them (up to the presser's caps, after a restart too),
🔄 describes again, and presses that name no suggestion are refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.errors import UserFacingError
from bot.exts.imagine.describe import check_bound, describe_request, suggestion
from bot.public_messages import described_content
from engine.flags import parse_prompt
from engine.settings import EngineSettings
from jobs import JobKind, JobStatus, JobView
from jobs.models import Job
from sandbox.discord import DiscordEmulator, Interaction, Message
from tests.bot.helpers import ANSWER_TIMEOUT, job_id_of, reply_to, wait_for_new_result
from tests.bot.test_image_prompts import FOX, png, the_web
from tests.captioner import save_tiny_captioner

PLAIN = EngineSettings(_env_file=None, default_steps=2, max_pixels=64 * 64)
# A landscape photo's shape: its suggestions say --ar 3:2.
WIDE = png((96, 64))


@pytest.fixture(scope="module")
def engine_settings(tmp_path_factory) -> EngineSettings:
    """The bot tests' engine, with a tiny captioner as CAPTION_MODEL."""
    folder = save_tiny_captioner(tmp_path_factory.mktemp("captioner"))
    return PLAIN.model_copy(update={"caption_model": str(folder)})


@pytest.fixture(scope="module")
def engine_factory(engine_settings: EngineSettings) -> Callable[[str], object]:
    def build(device: str) -> object:
        import torch

        from engine.engine import Engine

        torch.set_num_threads(1)
        return Engine(engine_settings, device=device)

    return build


def forge_first_button(message: Message, custom_id: str) -> None:
    """What a doctored message would carry (discord.py only answers ids the pressed message has)."""
    message.components[0]["components"][0]["custom_id"] = custom_id


def caption_of(suggestion: str) -> str:
    """What a suggestion says, without its flags."""
    return parse_prompt(suggestion).prompt


def words_of(suggestion: str) -> set[str]:
    return set(caption_of(suggestion).split())


async def described(emu: DiscordEmulator, bot, image: bytes) -> tuple[Message, object]:
    """/describe `image` and wait for its suggestions: the channel message and the job."""
    await emu.send_slash_command("describe", {"image": emu.upload("photo.png", image)})
    message = await wait_for_new_result(emu, 0, "the suggestions")
    return message, await bot.jobs.get_job(job_id_of(message))


async def replies(emu: DiscordEmulator, press: Interaction, count: int) -> list[Message]:
    """The first `count` private replies to a press."""
    return await emu.wait_for(
        lambda: len(press.followups) >= count and press.followups[:count], timeout=ANSWER_TIMEOUT, what="replies"
    )


async def test_without_a_captioner_describe_says_how_to_turn_it_on(
    discord_emulator: DiscordEmulator, start_bot, make_jobs
) -> None:
    emu = discord_emulator
    async with start_bot(jobs=make_jobs(process_jobs=False), limits=PLAIN) as bot:
        sent = await emu.send_slash_command("describe", {"image": emu.upload("fox.png", FOX)})
        answer = await reply_to(emu, sent, "the how-to")
        assert answer.ephemeral and "CAPTION_MODEL" in answer.content, answer.content
        assert await bot.jobs.recent_jobs(emu.user.id) == []


async def test_describe_suggests_four_prompts_and_a_number_imagines_one(
    discord_emulator: DiscordEmulator, start_bot, data_dir: Path
) -> None:
    emu = discord_emulator
    async with start_bot(image_fetch_private_addresses=True) as bot, the_web() as web:
        await emu.send_slash_command("describe", {"image": emu.upload("fox.png", FOX)})
        message = await wait_for_new_result(emu, 0, "the suggestions")
        job = await bot.jobs.get_job(job_id_of(message))
        assert job.kind is JobKind.DESCRIBE and len(job.suggestions) == 4 and job.images == ()
        assert message.content == described_content(emu.user.id, job.suggestions)
        assert message.custom_ids() == [
            *(f"imagine:suggestion:{job.public_id}:{index}" for index in range(1, 5)),
            f"imagine:describe:{job.public_id}",
            f"imagine:imagineall:{job.public_id}",
            f"imagine:delete:{emu.user.id}",
        ]
        assert all(text.endswith(" --ar 1:1") for text in job.suggestions)  # a square says so too

        shown = await reply_to(emu, await emu.send_slash_command("show", {"job": job.public_id}), "the repost")
        assert shown.content == message.content and shown.custom_ids() == message.custom_ids()
        answer = await reply_to(emu, await emu.send_slash_command("reproduce", {"job": job.public_id}), "refusal")
        assert answer.ephemeral and "is a /describe" in answer.content

        bob = emu.make_user("bob")
        press = await emu.click_button(message, f"imagine:suggestion:{job.public_id}:2", user=bob)
        assert "Queued" in (await reply_to(emu, press, "the receipt")).content
        [imagined] = await bot.jobs.recent_jobs(bob.id)
        assert imagined.kind is JobKind.IMAGINE and f"{imagined.request.prompt} --ar 1:1" == job.suggestions[1]
        assert imagined.raw_prompt == job.suggestions[1] and imagined.parent_public_id == job.public_id

        for custom_id, refusal in (
            (f"imagine:suggestion:{job.public_id}:7", "has suggestions 1 to 4; there is no suggestion 7"),
            (f"imagine:suggestion:{imagined.public_id}:1", "is not a /describe"),
            ("imagine:suggestion:nosuchjob0:1", "nosuchjob0"),
        ):
            forge_first_button(message, custom_id)
            answer = await reply_to(emu, await emu.click_button(message, custom_id), custom_id)
            assert answer.ephemeral and refusal in answer.content, answer.content
        assert len(await bot.jobs.recent_jobs(emu.user.id)) == 1

        word = max(words_of(job.suggestions[2]) - {"fox"}, key=len)  # a server's banned word stops its button
        await reply_to(emu, await emu.send_slash_command("config", {"banned_words": word}, user=emu.owner), "config")
        press = await emu.click_button(message, f"imagine:suggestion:{job.public_id}:3")
        answer = await reply_to(emu, press, "the refusal")
        assert answer.ephemeral and f"allow these words in prompts: {word}" in answer.content, answer.content

        again = await emu.click_button(message, f"imagine:describe:{job.public_id}")
        assert "Queued" in (await reply_to(emu, again, "the receipt")).content
        linked = await emu.send_slash_command("describe", {"link": f"{web}/fox.png"})
        assert "Queued" in (await reply_to(emu, linked, "the receipt")).content
        newer = [other for other in await bot.jobs.recent_jobs(emu.user.id) if other.public_id != job.public_id]
        assert [other.kind for other in newer] == [JobKind.DESCRIBE] * 2
        assert {other.request.source_image for other in newer} == {job.request.source_image}  # stored by hash
        assert all(other.request.seed != job.request.seed for other in newer)


async def test_a_wide_images_suggestions_keep_its_shape_and_imagine_all_queues_each(
    discord_emulator: DiscordEmulator, start_bot
) -> None:
    emu = discord_emulator
    bob = emu.make_user("bob")
    other = emu.make_guild("Server B")
    other.member_roles[emu.user.id] = other.member_roles[bob.id] = []  # both are in both servers
    async with start_bot() as bot:
        sent = await emu.send_slash_command("settings", {"aspect": "9:16"}, user=bob)
        await reply_to(emu, sent, "bob's settings")
        message, job = await described(emu, bot, WIDE)
        assert all(text.endswith(" --ar 3:2") for text in job.suggestions)
        assert message.content == described_content(emu.user.id, job.suggestions)
        assert message.content.count(" --ar 3:2") == 4  # shown as typed: nothing in it needs escaping

        # 1️⃣ keeps the image's shape over Bob's default 9:16.
        press = await emu.click_button(message, f"imagine:suggestion:{job.public_id}:1", user=bob)
        assert "Queued" in (await reply_to(emu, press, "the receipt")).content
        [first] = await bot.jobs.recent_jobs(bob.id)
        assert first.request.aspect == (3, 2) and first.parent_public_id == job.public_id

        press = await emu.click_button(message, f"imagine:imagineall:{job.public_id}", user=bob)
        receipts = await replies(emu, press, 4)
        assert all(receipt.ephemeral and receipt.content.startswith("Queued as job") for receipt in receipts)
        queued = [
            other_job for other_job in await bot.jobs.recent_jobs(bob.id) if other_job.public_id != first.public_id
        ]
        assert sorted(other_job.raw_prompt for other_job in queued) == sorted(job.suggestions)
        assert {other_job.kind for other_job in queued} == {JobKind.IMAGINE}
        assert {other_job.parent_public_id for other_job in queued} == {job.public_id}
        assert {other_job.request.aspect for other_job in queued} == {(3, 2)}
        posted = {posted.id for posted in emu.messages_in() if not posted.ephemeral}
        assert len({other_job.message_id for other_job in queued} & posted) == 4  # one message each

        # Presses that name no /describe, or another server's, queue nothing.
        for custom_id, refusal in (
            ("imagine:imagineall:nosuchjob0", "nosuchjob0"),
            (f"imagine:imagineall:{first.public_id}", "is not a /describe"),
        ):
            forge_first_button(message, custom_id)
            answer = await reply_to(emu, await emu.click_button(message, custom_id, user=bob), custom_id)
            assert answer.ephemeral and refusal in answer.content, answer.content
        there = other.channels[0]
        shown = await emu.send_slash_command("show", {"job": job.public_id}, guild=other, channel=there)
        repost = await emu.wait_for(
            lambda: next((posted for posted in emu.messages_in(there) if posted.custom_ids()), None),
            timeout=ANSWER_TIMEOUT,
            what="repost",
        )
        await reply_to(emu, shown, "the /show receipt")
        press = await emu.click_button(repost, f"imagine:imagineall:{job.public_id}", user=bob)
        answer = await reply_to(emu, press, "the refusal")
        assert answer.ephemeral and "was made somewhere else" in answer.content, answer.content

        # A banned word in one suggestion refuses the whole press, as one permutation refuses an /imagine.
        word = max(words_of(job.suggestions[2]), key=len)
        await reply_to(emu, await emu.send_slash_command("config", {"banned_words": word}, user=emu.owner), "config")
        press = await emu.click_button(message, f"imagine:imagineall:{job.public_id}", user=bob)
        answer = await reply_to(emu, press, "the refusal")
        assert answer.ephemeral and f"allow these words in prompts: {word}" in answer.content, answer.content
        assert len(await bot.jobs.recent_jobs(bob.id)) == 5


async def test_imagine_all_after_a_restart_stops_at_the_cap_and_says_how_many(
    discord_emulator: DiscordEmulator, start_bot, make_jobs
) -> None:
    emu = discord_emulator
    bob = emu.make_user("bob")
    async with start_bot() as bot:
        message, job = await described(emu, bot, WIDE)
    async with start_bot(jobs=make_jobs(process_jobs=False, max_queued_per_user=2)) as bot:
        press = await emu.click_button(message, f"imagine:imagineall:{job.public_id}", user=bob)
        first, second, last = await replies(emu, press, 3)
        assert first.content.startswith("Queued as job") and second.content.startswith("Queued as job")
        assert last.ephemeral and last.content.startswith(
            "Queued 2 of the 4 jobs Imagine all makes; the rest were not: You already have"
        ), last.content
        queued = await bot.jobs.recent_jobs(bob.id)
        assert sorted(other.raw_prompt for other in queued) == sorted(job.suggestions[:2])

        # Suggestions stored before they ended with --ar still imagine, at the presser's default shape.
        with bot.jobs.queue._sessions.begin() as session:
            old = [caption_of(text) for text in job.suggestions]
            session.execute(update(Job).where(Job.public_id == job.public_id).values(suggestions=old))
        press = await emu.click_button(message, f"imagine:suggestion:{job.public_id}:4")
        assert "Queued" in (await reply_to(emu, press, "the receipt")).content
        imagined, _ = await bot.jobs.recent_jobs(emu.user.id)  # newest first, then the /describe
        assert imagined.raw_prompt == old[3] and imagined.request.aspect == (1, 1)


def test_suggestions_are_shown_as_plain_text() -> None:
    content = described_content(1, ("@everyone look **here** <@2>", "a `fox`", "[link](http://x)", "a\nb"))
    assert content.startswith("**/describe** - <@1>\n\n1️⃣ ")
    assert "@everyone" not in content and "<@2>" not in content and "**here**" not in content
    assert "`fox`" not in content and "[link]" not in content and "4️⃣ a b" in content


def test_imagine_all_starts_no_more_jobs_than_one_imagine_may() -> None:
    check_bound(4, 4)
    with pytest.raises(UserFacingError, match="Imagine all would start 4 jobs, more than the 3 one /imagine may"):
        check_bound(4, 3)


def _describe_job(status: JobStatus, suggestions: tuple[str, ...] = ()) -> JobView:
    return JobView(
        public_id="d1", kind=JobKind.DESCRIBE, status=status, user_id=1, guild_id=None, channel_id=None,
        message_id=None, raw_prompt="/describe fox.png", request=describe_request("/data/sources/fox.png"),
        model=None, seed=1, error=None, attempts=1, device=None, parent_public_id=None, parent_index=None,
        batch_id=None, batch_images=None, grid_path=None, created_at=datetime.now(UTC), started_at=None,
        finished_at=None, suggestions=suggestions,
    )  # fmt: skip


def test_a_suggestion_button_says_why_there_is_nothing_to_imagine() -> None:
    with pytest.raises(UserFacingError, match="has no suggestions yet: wait for it to finish"):
        suggestion(_describe_job(JobStatus.RUNNING), 1)
    with pytest.raises(UserFacingError, match=r"ended \(failed\) without suggestions: press 🔄 to try again"):
        suggestion(_describe_job(JobStatus.FAILED), 1)
    with pytest.raises(UserFacingError, match="has suggestions 1 to 2; there is no suggestion 3"):
        suggestion(_describe_job(JobStatus.SUCCEEDED, ("a fox", "a cat")), 3)
    assert suggestion(_describe_job(JobStatus.SUCCEEDED, ("a fox", "a cat")), 2) == "a cat"
