"""Banned words after Unicode normalisation: the known tricks are caught, innocent words are not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.rules import banned_words_in, normalized

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff", "\u202e", "\u2066"]


@pytest.mark.parametrize(
    "prompt",
    [
        "GORE",  # case
        "ｇｏｒｅ",  # full-width letters
        "go\u200bre",  # zero-width space
        "g\u00adore",  # soft hyphen
        "góre",  # accents, precomposed
        "go\u0308re",  # a combining mark
        "gоre",  # Cyrillic о
        "𝐠𝐨𝐫𝐞",  # mathematical bold
        "ⓖⓞⓡⓔ",  # circled letters
        "a scene of gore, at night",
    ],
)
def test_known_tricks_are_caught(prompt: str) -> None:
    assert banned_words_in(prompt, ("gore",)) == ["gore"]


@pytest.mark.parametrize("prompt", ["class", "gorest", "gorey", "passage", "bass guitar"])
def test_whole_words_only(prompt: str) -> None:
    assert banned_words_in(prompt, ("gore", "ass")) == []


def test_the_banned_list_is_normalised_too() -> None:
    assert banned_words_in("a GORE scene", ("Ｇore ",)) == ["Ｇore "]


@given(
    word=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=12),
    inserts=st.lists(st.tuples(st.integers(0, 12), st.sampled_from(INVISIBLE)), max_size=6),
    full_width=st.booleans(),
    upper=st.booleans(),
)
def test_any_word_survives_invisible_characters_width_and_case(word, inserts, full_width, upper) -> None:
    disguised = word.upper() if upper else word
    if full_width:
        disguised = "".join(chr(ord(char) + 0xFEE0) for char in disguised)
    for position, char in sorted(inserts, reverse=True):
        position = min(position, len(disguised))
        disguised = disguised[:position] + char + disguised[position:]
    assert normalized(disguised) == word
    assert banned_words_in(f"x {disguised} y", (word,)) == [word]
