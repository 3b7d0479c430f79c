"""Prompt weights: `::` parts and `(words:weight)` terms, parsed without torch and weighted through compel on the
UNet families (the tiny default model's CLIP text encoder)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.prompt_weights import Part, PromptWeightError, Term, parse_weights, plain_text, uses_weights
from engine.request import GenerationRequest
from tests.engine.conftest import pixels


def test_both_forms_parse_into_parts_and_terms():
    assert parse_weights("cat::2 dog::1").parts == (Part((Term("cat"),), 2.0), Part((Term("dog"),), 1.0))
    assert parse_weights("hot:: dog").parts == (Part((Term("hot"),)), Part((Term("dog"),)))
    nested = parse_weights("a (big (red:1.5) ball:0.8), \\(literally\\)").parts[0].terms
    assert nested == (
        Term("a"),
        Term("big", 0.8),
        Term("red", pytest.approx(1.2)),
        Term("ball", 0.8),
        Term(", (literally)"),
    )


def test_text_without_either_form_is_left_exactly_as_typed():
    for text in ("a cat (orange) [fluffy]", "12:30 at the station", "  spaced  out ", "a (cat:big)"):
        assert not uses_weights(text)
        assert plain_text(text) == text
        assert parse_weights(text).parts == (Part((Term(text),)),)


def test_models_without_weights_read_the_words():
    assert plain_text("still life::2 fruit::-0.5") == "still life, fruit"
    assert plain_text("a (red:1.4) circle") == "a red circle"


@pytest.mark.parametrize("text", ["cat::-1", "::2 cat", "a (red:2.5)", "cat::11 dog"])
def test_unusable_weights_are_refused(text):
    with pytest.raises(PromptWeightError):
        parse_weights(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab ():.:-12\\,")) | st.characters(), max_size=40))
def test_any_text_parses_or_is_refused_with_a_prompt_weight_error(text):
    with contextlib.suppress(PromptWeightError):
        parse_weights(text)
    assert isinstance(plain_text(text), str) and isinstance(uses_weights(text), bool)


def test_weighted_and_unweighted_prompts_never_share_a_batch():
    plain = GenerationRequest(prompt="a red circle", seed=1)
    assert plain.batch_key() != GenerationRequest(prompt="a (red:1.3) circle", seed=1).batch_key()
    assert plain.batch_key() != GenerationRequest(prompt="a red circle", negative_prompt="(blue:1.2)").batch_key()


@pytest.fixture(scope="module")
def family(engine):
    return engine.model().family


def encode(family, text: str) -> torch.Tensor:
    return family.prompt_arguments([text], [""], 7.0)["prompt_embeds"][0]


def test_an_unweighted_prompt_reaches_the_pipeline_as_text(family):
    assert family.prompt_arguments(["a red circle"], ["blur"], 7.0) == {
        "prompt": ["a red circle"],
        "negative_prompt": ["blur"],
        "guidance_scale": 7.0,
    }


def test_compel_reads_a_term_of_weight_one_as_the_pipeline_does(family):
    pipe = family.pipe
    expected, _ = pipe.encode_prompt("a red circle", pipe.device, 1, False)
    assert torch.allclose(encode(family, "(a red circle:1)"), expected[0], atol=1e-5)


def test_an_upweighted_term_moves_its_token_away_from_the_empty_prompt(family):
    """compel scales a term's token embeddings away from the empty prompt's by its weight; the rest stay put."""
    plain, weighted = encode(family, "(a red circle:1)"), encode(family, "a (red:1.8) circle")
    empty = family.pipe.encode_prompt("", family.pipe.device, 1, False)[0][0]
    red = 2  # <start> a red circle
    assert torch.allclose(weighted[red] - empty[red], 1.8 * (plain[red] - empty[red]), atol=1e-4)
    others = [index for index in range(plain.shape[0]) if index != red]
    assert torch.allclose(weighted[others], plain[others], atol=1e-5)


def test_multi_prompt_parts_blend_by_their_normalised_weights(family):
    red, blue = encode(family, "(a red circle:1)"), encode(family, "(a blue square:1)")
    blended = encode(family, "a red circle::2 a blue square::1")
    assert torch.allclose(blended, (2 * red + blue) / 3, atol=1e-5)


def test_weights_change_the_image_and_a_weighted_negative_is_used(engine):
    def image(prompt: str, negative: str = ""):
        request = GenerationRequest(prompt=prompt, negative_prompt=negative, seed=4, count=1, steps=2)
        return pixels(engine.run(request).images[0])

    prompt = "a red circle on a blue background"
    assert not np.array_equal(image("a (red:1.8) circle on a blue background"), image(prompt))
    assert not np.array_equal(image(prompt, "(green:1.5)"), image(prompt, "green"))
