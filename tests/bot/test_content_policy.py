"""The content policy's decisions, without Discord: what is shown of flagged images, where, and the words used."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from bot.content_policy import OUTSIDE_A_SERVER, SHOW_EVERYTHING, Showing, Venue, decide, refusal
from bot.uploads import PLACEHOLDER_FILL, Upload, withhold
from engine.outputs import JOB_CHUNK, PARAMETERS_CHUNK, RECORD_CHUNK
from jobs.states import ContentPolicy

BLOCK, SPOILER, AGE = ContentPolicy.BLOCK, ContentPolicy.SPOILER, ContentPolicy.AGE_RESTRICTED
EVERY_VENUE = [Venue(policy, age_restricted) for policy in ContentPolicy for age_restricted in (False, True)] + [
    OUTSIDE_A_SERVER
]


@pytest.mark.parametrize("venue", EVERY_VENUE)
def test_nothing_flagged_shows_everything_everywhere(venue) -> None:
    assert decide([], venue) == SHOW_EVERYTHING


@pytest.mark.parametrize(
    "venue, withheld, spoiler",
    [
        (Venue(BLOCK), {2}, False),
        (Venue(BLOCK, age_restricted=True), {2}, False),
        (Venue(SPOILER), set(), True),
        (Venue(SPOILER, age_restricted=True), set(), True),
        (Venue(AGE, age_restricted=True), set(), False),
        (Venue(AGE, age_restricted=False), {2}, False),
        (OUTSIDE_A_SERVER, {2}, False),
        # a DM is never age-restricted, and no server chose anything for it
        (Venue(SPOILER, age_restricted=True, in_server=False), {2}, False),
    ],
)
def test_each_policy_in_each_place(venue, withheld, spoiler) -> None:
    showing = decide([2], venue)
    assert showing.withheld == withheld and showing.spoiler is spoiler and showing.note


def test_the_message_says_which_images_and_why() -> None:
    assert decide([3, 1], Venue(BLOCK)) == Showing(
        withheld=frozenset({1, 3}),
        note="Images #1 and #3 were withheld: the content filter flagged them, and this server does not show "
        "flagged images.",
    )
    assert decide([4], Venue(AGE)).note == (
        "Image #4 was withheld: the content filter flagged it, and this server shows flagged images only in its "
        "age-restricted channels."
    )
    assert decide([1, 2, 4], OUTSIDE_A_SERVER).note.startswith("Images #1, #2 and #4 were withheld")
    assert (
        decide([2], Venue(SPOILER)).note == "Image #2 was flagged by the content filter, so this is behind a spoiler."
    )
    assert "shown because this channel is age-restricted" in decide([2], Venue(AGE, age_restricted=True)).note
    assert refusal(2, Venue(BLOCK)) == (
        "Image #2 can't be posted here: the content filter flagged it, and this server does not show flagged images."
    )
    assert "outside a server" in refusal(1, OUTSIDE_A_SERVER)


def test_a_spoiler_upload_is_named_as_discord_expects() -> None:
    assert Upload("abc.png", b"x", spoiler=True).to_file().filename == "SPOILER_abc.png"
    assert Upload("abc.png", b"x").to_file().filename == "abc.png"


def test_withheld_tiles_become_grey_and_the_rest_is_untouched() -> None:
    grid = Image.new("RGB", (128, 128))
    for index, colour in enumerate(("red", "green", "blue", "white")):
        grid.paste(Image.new("RGB", (64, 64), colour), ((index % 2) * 64, (index // 2) * 64))
    info = PngInfo()
    info.add_text(PARAMETERS_CHUNK, "a fox\nSteps: 2")
    info.add_text(RECORD_CHUNK, '{"job_id": "ABCDEF1234", "versions": {"torch": "2.13"}}')
    buffer = io.BytesIO()
    grid.save(buffer, format="PNG", pnginfo=info)

    shown = Image.open(io.BytesIO(withhold(buffer.getvalue(), [(64, 0, 64, 64)], 128 * 128)))
    assert shown.text == {PARAMETERS_CHUNK: "a fox\nSteps: 2", JOB_CHUNK: "ABCDEF1234"}
    rgb = shown.convert("RGB")
    assert rgb.getpixel((65, 1)) == PLACEHOLDER_FILL and rgb.getpixel((127, 63)) == PLACEHOLDER_FILL
    assert rgb.crop((64, 0, 128, 64)).getcolors() and len(rgb.crop((64, 0, 128, 64)).getcolors()) > 1  # the word
    for box in ((0, 0, 64, 64), (0, 64, 64, 128), (64, 64, 128, 128)):
        assert rgb.crop(box).tobytes() == grid.crop(box).tobytes()
