"""Message formatting, without Discord: what users read at each stage of a job."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot import public_messages
from engine.flags import parse_prompt
from engine.request import Direction, GenerationRequest, Operation


def test_waiting_shows_the_place_in_the_queue() -> None:
    request = parse_prompt("a red fox --ar 3:2 --seed 7")
    content = public_messages.job_content(request, 42, public_messages.waiting_status(3))
    assert content == "**a red fox --ar 3:2 --seed 7** - <@42> (Waiting to start, #3 in queue)"


def test_progress_and_final_texts() -> None:
    request = parse_prompt("a red fox --seed 7")
    assert public_messages.job_content(request, 1, public_messages.progress_status(0.456)).endswith("(45%)")
    assert public_messages.job_content(request, 1) == "**a red fox --seed 7** - <@1>"
    assert public_messages.image_content(request, 9, 2) == "**a red fox --seed 7** - Image #2 <@9>"


def test_variations_and_pans_name_the_operation() -> None:
    base = {"prompt": "a fox", "seed": 1, "source_image": "x.png"}
    variation = GenerationRequest(**base, operation=Operation.VARIATION, mode="subtle")
    pan = GenerationRequest(**base, operation=Operation.PAN, direction=Direction.LEFT)
    assert public_messages.job_content(variation, 5).endswith("- Variations (Subtle) by <@5>")
    assert public_messages.job_content(pan, 5).endswith("- Pan Left by <@5>")


def test_markdown_and_mentions_in_prompts_stay_inert() -> None:
    request = parse_prompt("**bold** @everyone <@123> `code` --seed 1")
    content = public_messages.job_content(request, 1)
    assert content.startswith("**\\*\\*bold\\*\\* @\u200beveryone \\<@123\\> \\`code\\` --seed 1**")


@given(st.text(min_size=1, max_size=6000).filter(lambda text: text.strip() and "-" not in text))
def test_any_prompt_fits_in_one_message_and_keeps_its_flags(prompt: str) -> None:
    request = GenerationRequest(prompt=prompt, seed=123456, negative_prompt="trees, cars")
    for content in (
        public_messages.job_content(request, 2**63, public_messages.failed_status("x" * 5000)),
        public_messages.image_content(request, 2**63, 16),
    ):
        assert len(content) <= public_messages.MAX_CONTENT
        assert "--seed 123456 --no trees, cars**" in content
        assert not content.split("**")[1].endswith("\\")  # no escape swallowing the closing marker
