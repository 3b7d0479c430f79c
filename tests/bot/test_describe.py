"""/describe through the real bot: without a captioner it says how to turn it on; with a tiny one, four numbered
suggestions under the image, 1️⃣–4️⃣ /imagine one of them (read from the job, checked like a typed prompt), 🔄
describes again, and presses that name no suggestion are refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.public_messages import described_content
from engine.settings import EngineSettings
from jobs import JobKind
from sandbox.discord import DiscordEmulator, Message
from tests.bot.helpers import job_id_of, reply_to, wait_for_new_result
from tests.bot.test_image_prompts import FOX, the_web
from tests.captioner import save_tiny_captioner

PLAIN = EngineSettings(_env_file=None, default_steps=2, max_pixels=64 * 64)


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
            f"imagine:delete:{emu.user.id}",
        ]

        shown = await reply_to(emu, await emu.send_slash_command("show", {"job": job.public_id}), "the repost")
        assert shown.content == message.content and shown.custom_ids() == message.custom_ids()
        answer = await reply_to(emu, await emu.send_slash_command("reproduce", {"job": job.public_id}), "refusal")
        assert answer.ephemeral and "is a /describe" in answer.content

        bob = emu.make_user("bob")
        press = await emu.click_button(message, f"imagine:suggestion:{job.public_id}:2", user=bob)
        assert "Queued" in (await reply_to(emu, press, "the receipt")).content
        [imagined] = await bot.jobs.recent_jobs(bob.id)
        assert imagined.kind is JobKind.IMAGINE and imagined.request.prompt == job.suggestions[1]
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

        word = max(set(job.suggestions[2].split()) - {"fox"}, key=len)  # a server's banned word stops its button
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


def test_suggestions_are_shown_as_plain_text() -> None:
    content = described_content(1, ("@everyone look **here** <@2>", "a `fox`", "[link](http://x)", "a\nb"))
    assert content.startswith("**/describe** - <@1>\n\n1️⃣ ")
    assert "@everyone" not in content and "<@2>" not in content and "**here**" not in content
    assert "`fox`" not in content and "[link]" not in content and "4️⃣ a b" in content
