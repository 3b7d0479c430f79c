import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.flags import (
    FlagError,
    PromptDefaults,
    format_flags,
    parse_prompt,
    stylize_to_guidance,
)
from engine.registry import ModelRegistry, RegisteredModel
from engine.request import MAX_LORAS, MAX_SEED
from engine.samplers import SAMPLERS


def test_full_prompt_with_every_flag():
    request = parse_prompt(
        "a red fox in snow --ar 16:9 --seed 7 --no trees, text --steps 30 --cfg 6.5 "
        "--chaos 40 --tile --model stabilityai/sd-turbo --sampler euler-a"
    )
    assert request.prompt == "a red fox in snow"
    assert request.aspect == (16, 9)
    assert request.seed == 7
    assert request.negative_prompt == "trees, text"
    assert (request.steps, request.guidance, request.chaos) == (30, 6.5, 40)
    assert request.tile is True
    assert request.model == "stabilityai/sd-turbo"
    assert request.sampler == "euler-a"
    assert request.warnings == ()


def test_prompt_without_flags_uses_defaults_and_a_random_seed():
    request = parse_prompt("  a lighthouse at dusk  ")
    assert request.prompt == "a lighthouse at dusk"
    assert request.aspect == (1, 1)
    assert (request.steps, request.guidance, request.sampler, request.model) == (None, None, None, None)
    assert 0 <= request.seed <= MAX_SEED
    seeds = {parse_prompt("a lighthouse").seed for _ in range(8)}
    assert len(seeds) > 1


@pytest.mark.parametrize("dash", ["--", "\u2014", "\u2013", "-\u2014", "\u2014-"])
def test_phone_autocorrected_dashes_count_as_flags(dash):
    request = parse_prompt(f"a cat {dash}ar 3:2 {dash}SEED 5")
    assert (request.prompt, request.aspect, request.seed) == ("a cat", (3, 2), 5)


def test_flag_names_are_case_insensitive_and_aliases_work():
    request = parse_prompt("a cat --ASPECT 2:3 --S 100 --C 10")
    assert request.aspect == (2, 3)
    assert request.guidance == 7.0
    assert request.chaos == 10


def test_aspect_is_reduced():
    assert parse_prompt("a cat --ar 1920:1080").aspect == (16, 9)
    assert parse_prompt("a cat --ar 3 : 2").aspect == (3, 2)


def test_repeated_no_merges_without_duplicates():
    request = parse_prompt("a cat --no dogs,  birds --no Dogs, fish")
    assert request.negative_prompt == "dogs, birds, fish"


def test_hyphenated_words_and_lone_dashes_stay_in_the_prompt():
    request = parse_prompt("a well--known sign -- saying hi --seed 1")
    assert request.prompt == "a well--known sign -- saying hi"


def test_midjourney_only_flags_are_ignored_with_a_warning():
    request = parse_prompt("a cat --v 6 --style raw --seed 3")
    assert request.seed == 3
    assert len(request.warnings) == 2
    assert "--v" in request.warnings[0]


@pytest.mark.parametrize("stylize, guidance", [(0, 3.0), (50, 5.0), (100, 7.0), (550, 11.0), (1000, 15.0)])
def test_stylize_maps_onto_guidance(stylize, guidance):
    assert stylize_to_guidance(stylize) == guidance
    assert parse_prompt(f"a cat --stylize {stylize}").guidance == guidance


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "a cat --ar 3x2",
            "--ar expects W:H with whole numbers between 1:4 and 4:1, like --ar 3:2 (got '3x2')",
        ),
        ("a cat --ar 5:1", "(got '5:1')"),
        ("a cat --ar 0:1", "--ar expects"),
        ("a cat --seed 1 --seed 2", "--seed given twice"),
        ("a cat --s 1 --stylize 2", "--stylize given twice"),
        ("a cat --seed 4294967296", "--seed expects a whole number from 0 to 4294967295"),
        ("a cat --seed", "(got nothing)"),
        ("a cat --foo 3", "unknown flag --foo; accepted flags: --ar, --seed, --no, --steps, --cfg"),
        ("a cat --steps 0", "--steps expects a whole number from 1 to 150"),
        ("a cat --steps 30 more words", "(got '30 more words')"),
        ("a cat --cfg 31", "--cfg expects a number from 0 to 30"),
        ("a cat --cfg nan", "--cfg expects"),
        ("a cat --cfg 5 --s 100", "use either --cfg or --stylize, not both"),
        ("a cat --chaos 101", "--chaos expects a whole number from 0 to 100"),
        ("a cat --c -1", "--c expects"),
        ("a cat --tile please", "--tile expects no value"),
        ("a cat --no ,,", "--no expects things to keep out of the image"),
        ("a cat --model ../../etc", "--model expects the name of one of this server's models"),
        ("a cat --sampler lms", "--sampler expects one of " + ", ".join(SAMPLERS)),
        ("--ar 3:2", "the prompt is empty"),
        ("   ", "the prompt is empty"),
    ],
)
def test_bad_input_gets_a_specific_message(text, message):
    with pytest.raises(FlagError) as error:
        parse_prompt(text)
    assert message in str(error.value)


def test_long_bad_values_are_shortened_in_the_message():
    with pytest.raises(FlagError) as error:
        parse_prompt("a cat --seed " + "x" * 500)
    assert len(str(error.value)) < 200


def test_defaults_apply_and_flags_win():
    defaults = PromptDefaults(
        aspect=(3, 2),
        steps=20,
        guidance=5.0,
        sampler="DPM++ 2M Karras",
        model="mine",
        chaos=30,
        negative_prompt="blurry, lowres",
    )
    plain = parse_prompt("a cat", defaults)
    assert (plain.aspect, plain.steps, plain.guidance, plain.default_sampler, plain.model, plain.chaos) == (
        (3, 2),
        20,
        5.0,
        "dpm++2m-karras",
        "mine",
        30,
    )
    assert plain.negative_prompt == "blurry, lowres"
    flagged = parse_prompt("a cat --ar 1:1 --steps 8 --s 0 --chaos 0 --no text", defaults)
    assert (flagged.aspect, flagged.steps, flagged.guidance, flagged.chaos) == ((1, 1), 8, 3.0, 0)
    assert flagged.negative_prompt == "blurry, lowres, text"


def test_a_typed_sampler_is_kept_apart_from_the_settings_one():
    """A typed --sampler is `sampler` (the model's family must offer it); the /settings one travels as
    `default_sampler`, which gives way to the family's own (tests/engine/test_families.py runs both on FLUX)."""
    defaults = PromptDefaults(sampler="ddim")
    plain = parse_prompt("a cat --seed 1", defaults)
    assert (plain.sampler, plain.default_sampler) == (None, "ddim")
    typed = parse_prompt("a cat --seed 1 --sampler ddim", defaults)
    assert (typed.sampler, typed.default_sampler) == ("ddim", None)
    assert plain.batch_key() != typed.batch_key()
    # A typed sampler is shown even when it equals the member's default: pasted back, it is typed again.
    assert format_flags(typed, defaults) == "--seed 1 --sampler ddim" and format_flags(plain, defaults) == "--seed 1"


def test_at_most_three_loras_each_named_once():
    assert len(parse_prompt("a cat --lora a --lora b:0.5 --lora c").loras) == MAX_LORAS == 3
    with pytest.raises(FlagError, match="at most 3 --lora flags in one prompt \\(got 4\\)"):
        parse_prompt("a cat --lora a --lora b --lora c --lora d")
    with pytest.raises(FlagError, match="each LoRA may be named once: give one --lora per name"):
        parse_prompt("a cat --lora ink:0.5 --lora INK:1")


def test_invalid_defaults_are_rejected_when_built():
    with pytest.raises(ValueError, match="unknown sampler"):
        PromptDefaults(sampler="nope")
    with pytest.raises(ValueError, match="between 1:4 and 4:1"):
        PromptDefaults(aspect=(9, 1))


def test_format_flags_shows_only_what_differs():
    request = parse_prompt("a cat --seed 9")
    assert format_flags(request) == "--seed 9"
    request = parse_prompt("a cat --seed 9 --cfg 7.25 --ar 2:3 --tile")
    assert format_flags(request) == "--ar 2:3 --seed 9 --cfg 7.25 --tile"


# --- fuzzing -------------------------------------------------------------------------------

_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=20).filter(str.strip)
_flag_names = st.sampled_from(
    ["ar", "aspect", "seed", "no", "steps", "cfg", "stylize", "s", "chaos", "c", "tile", "model", "sampler", "v", "foo"]
)
_values = st.one_of(
    st.integers(-5, 2**33).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.tuples(st.integers(0, 30), st.integers(0, 30)).map(lambda wh: f"{wh[0]}:{wh[1]}"),
    st.sampled_from(list(SAMPLERS) + ["DPM++ 2M Karras", "lms", ""]),
    st.text(max_size=15),
)
_dashes = st.sampled_from(["--", "\u2014", "\u2013", "-"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gives_a_request_or_a_flag_error(text):
    try:
        request = parse_prompt(text)
    except FlagError:
        return
    assert request.prompt and request.prompt == request.prompt.strip()


@settings(max_examples=300, deadline=None)
@given(_words, st.lists(st.tuples(_dashes, _flag_names, _values), max_size=6))
def test_any_flag_sequence_gives_a_request_or_a_flag_error(prompt, flags):
    text = prompt + "".join(f" {dash}{name} {value}" for dash, name, value in flags)
    with contextlib.suppress(FlagError):
        parse_prompt(text)


_defaults = st.builds(
    PromptDefaults,
    aspect=st.none() | st.sampled_from([(1, 1), (3, 2), (9, 16)]),
    steps=st.none() | st.integers(1, 150),
    guidance=st.none() | st.floats(0, 30),
    sampler=st.none() | st.sampled_from(list(SAMPLERS)),
    model=st.none() | st.sampled_from(["mine", "org/other"]),
    chaos=st.none() | st.integers(0, 100),
    negative_prompt=st.sampled_from(["", "blurry", "blurry, text"]),
)
_flag_text = st.lists(
    st.one_of(
        st.tuples(st.integers(1, 4), st.integers(1, 4)).map(lambda wh: f"--ar {wh[0]}:{wh[1]}"),
        st.integers(0, MAX_SEED).map(lambda n: f"--seed {n}"),
        st.lists(_words, min_size=1, max_size=3).map(lambda ws: "--no " + ", ".join(ws)),
        st.integers(1, 150).map(lambda n: f"--steps {n}"),
        st.floats(0, 30).map(lambda x: f"--cfg {x!r}"),
        st.integers(0, 1000).map(lambda n: f"--s {n}"),
        st.integers(0, 100).map(lambda n: f"--chaos {n}"),
        st.just("--tile"),
        st.sampled_from(["--model mine", "--model a/b-1.5"]),
        st.sampled_from(list(SAMPLERS)).map(lambda name: f"--sampler {name}"),
    ),
    max_size=8,
    unique_by=lambda flag: flag.split()[0],
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(_words, _flag_text, _defaults)
def test_format_flags_round_trips(prompt, flags, defaults):
    try:
        request = parse_prompt(f"{prompt} {flags}", defaults)
    except FlagError:
        return
    again = parse_prompt(f"{request.prompt} {format_flags(request, defaults)}", defaults)
    assert again.model_dump(exclude={"warnings"}) == request.model_dump(exclude={"warnings"})


def test_only_registered_models_are_accepted_and_the_refusal_lists_them() -> None:
    """A member names a model the operator registered; a hub id or a path is refused before a job exists."""
    registry = ModelRegistry([RegisteredModel(name="turbo", source="stabilityai/sdxl-turbo")])
    assert parse_prompt("a cat --model turbo", models=registry).model == "turbo"
    assert parse_prompt("a cat --model default", models=registry).model == "default"
    for smuggled in ("stabilityai/sdxl-turbo", "evil/huge-model", "data/other/model"):
        with pytest.raises(FlagError, match="one of this server's models: default, turbo"):
            parse_prompt(f"a cat --model {smuggled}", models=registry)
    with pytest.raises(FlagError, match="--model expects"):  # not even a name
        parse_prompt("a cat --model ../../etc", models=registry)


def test_a_default_model_that_is_gone_says_to_change_the_setting() -> None:
    registry = ModelRegistry([])
    with pytest.raises(FlagError, match="your default model 'turbo' .* /settings model"):
        parse_prompt("a cat", PromptDefaults(model="turbo"), models=registry)


@pytest.mark.parametrize(
    "flag", ["--oref https://x/y.png", "--ow 100", "--edit", "--sv 4", "--profile ab12", "--motion high", "--exp 25"]
)
def test_current_midjourney_parameters_are_ignored_with_a_warning(flag):
    request = parse_prompt(f"a cat {flag} --seed 3")
    assert request.seed == 3
    assert request.warnings == (f"{flag.split()[0]} is a Midjourney option this bot does not have; ignored it",)


def test_iw_sets_the_image_weight_and_round_trips():
    request = parse_prompt("a cat --iw 2.5 --seed 1")
    assert request.image_weight == 2.5
    assert format_flags(request) == "--seed 1 --iw 2.5"
    assert parse_prompt("a cat --seed 1 --iw 1").image_weight == 1.0
    with pytest.raises(FlagError, match="--iw expects a number from 0 to 3"):
        parse_prompt("a cat --iw 4")


def test_repeat_left_in_a_prompt_is_ignored_with_a_warning():
    assert "only /imagine does" in parse_prompt("a cat --repeat 2").warnings[0]


@pytest.mark.parametrize(
    "text, message",
    [
        ("cat::-2 dog::1", "the weights in your prompt cannot be used: the :: weights add up to -1"),
        ("::2 cat", "each :: weight needs words before it"),
        ("a (red:3) cat", "past the range of (words:weight), 0 to 2"),
        ("a cat --no (blur:9)", "the weights in your --no cannot be used"),
    ],
)
def test_unusable_prompt_weights_are_refused_when_typed(text, message):
    with pytest.raises(FlagError) as error:
        parse_prompt(text)
    assert message in str(error.value)


def test_the_docs_table_lists_every_flag_and_every_ignored_midjourney_parameter():
    from pathlib import Path

    from engine.flags import _FLAGS, EXPANDED_FLAGS, MIDJOURNEY_ONLY_FLAGS

    docs = (Path(__file__).resolve().parents[2] / "docs" / "prompt-flags.md").read_text()
    section = docs[docs.index("## Midjourney's parameters") :]
    table = section[: section.index("\n## ")]
    names = {alias for flag in _FLAGS for alias in (flag.name, *flag.aliases)} | MIDJOURNEY_ONLY_FLAGS | EXPANDED_FLAGS
    missing = sorted(name for name in names if f"`--{name}" not in table)
    assert not missing, f"docs/prompt-flags.md's Midjourney table misses {missing}"
