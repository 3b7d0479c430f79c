"""Permutation prompts and --repeat: the job texts one /imagine makes, in Midjourney's order, within the bound."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.flags import FlagError, parse_prompt
from engine.permutations import expand_prompt


def test_a_text_without_braces_is_one_job_unchanged():
    for text in ("a red circle --ar 3:2", "a\\b c, d", "  spaced  "):
        assert expand_prompt(text, max_jobs=4) == [text]


def test_groups_expand_in_midjourneys_order():
    assert expand_prompt("a {red, green} bird in the {jungle, desert}", max_jobs=10) == [
        "a red bird in the jungle",
        "a red bird in the desert",
        "a green bird in the jungle",
        "a green bird in the desert",
    ]


def test_nested_groups_expand_inside_their_option():
    text = "a {sculpture, painting} of a {seagull {on a pier, on a beach}, poodle {on a sofa, in a truck}}"
    jobs = expand_prompt(text, max_jobs=8)
    assert len(jobs) == 8
    assert jobs[:4] == [
        "a sculpture of a seagull on a pier",
        "a sculpture of a seagull on a beach",
        "a sculpture of a poodle on a sofa",
        "a sculpture of a poodle in a truck",
    ]
    assert jobs[4] == "a painting of a seagull on a pier"


def test_flags_permute_too_and_escapes_stay_literal():
    assert expand_prompt("a cat --ar {1:1, 3:2}", max_jobs=2) == ["a cat --ar 1:1", "a cat --ar 3:2"]
    assert expand_prompt("a {big\\, red, blue} \\{ball\\}", max_jobs=2) == ["a big, red {ball}", "a blue {ball}"]


def test_repeat_makes_that_many_jobs_after_each_expansion_and_leaves_the_prompt_clean():
    assert expand_prompt("a {red, blue} circle --repeat 2 --ar 3:2", max_jobs=4) == [
        "a red circle --ar 3:2",
        "a red circle --ar 3:2",
        "a blue circle --ar 3:2",
        "a blue circle --ar 3:2",
    ]
    assert expand_prompt("a cat \u2014r 3", max_jobs=3) == ["a cat"] * 3
    assert parse_prompt(expand_prompt("a cat --r 2 --seed 5", max_jobs=2)[0]).seed == 5


@pytest.mark.parametrize(
    "text, message",
    [
        ("a {red, blue, green} circle", "make 3 prompts, more than the 2 jobs"),
        ("a {red, blue} circle --repeat 2", "makes 4 jobs with --repeat, more than the 2"),
        ("a cat --repeat 3", "--repeat expects a whole number from 1 to 2"),
        ("a cat --repeat", "(got nothing)"),
        ("a cat --r 1 --repeat 1", "--repeat given twice"),
        ("a {red, blue circle", "a { without its }"),
        ("a red} circle", "a } without its {"),
        ("{" * 9 + "a" + "}" * 9, "nest at most 8 deep"),
    ],
)
def test_refusals_name_the_problem_and_the_bound(text, message):
    with pytest.raises(FlagError, match=None) as error:
        expand_prompt(text, max_jobs=2)
    assert message in str(error.value)


def test_a_huge_product_is_refused_before_it_is_expanded():
    with pytest.raises(FlagError, match="make 1048576 prompts"):
        expand_prompt("{a, b} " * 20, max_jobs=40)


_options = st.lists(st.text(alphabet="abc xyz", max_size=4), min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(st.lists(_options, max_size=4), st.integers(1, 3))
def test_the_job_count_is_the_product_of_the_groups_times_the_repeat(groups, repeat):
    text = "x " + " ".join("{" + ", ".join(options) + "}" for options in groups) + f" --repeat {repeat}"
    expected = math.prod(len(options) for options in groups) * repeat
    jobs = expand_prompt(text, max_jobs=1000)
    assert len(jobs) == expected
    assert all("{" not in job and "--repeat" not in job for job in jobs)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab {},\\-r2 ")) | st.characters(), max_size=40), st.integers(1, 6))
def test_any_text_gives_job_texts_or_a_flag_error(text, max_jobs):
    try:
        jobs = expand_prompt(text, max_jobs=max_jobs)
    except FlagError:
        return
    assert 1 <= len(jobs) <= max_jobs
