"""Midjourney-style inline flags: `a red fox in snow --ar 3:2 --no trees --seed 7`.

Pure Python on purpose: the bot parses and rejects bad input at command time, before a job
exists, so a typo costs the user one message instead of a queue slot. Every problem becomes a
`FlagError` whose message names the flag and shows the accepted form; no other exception
escapes `parse_prompt`, whatever the text.

Phones autocorrect `--` into an em or en dash, so `—ar` and `–ar` count as `--ar`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from math import gcd
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.prompt_weights import PromptWeightError, parse_weights
from engine.registry import ModelRegistry
from engine.request import (
    DEFAULT_IMAGE_WEIGHT,
    MAX_ASPECT_RATIO,
    MAX_IMAGE_WEIGHT,
    MAX_LORA_WEIGHT,
    MAX_LORAS,
    MAX_SEED,
    GenerationRequest,
    LoraChoice,
)
from engine.samplers import SAMPLERS, UnknownSamplerError, normalize_sampler

MAX_ASPECT_SIDE = 10000
MAX_MODEL_NAME = 200
MAX_SHOWN_VALUE = 60

# Midjourney's --stylize 0..1000 mapped piecewise-linearly onto classifier-free guidance;
# 100, Midjourney's default, lands on 7.0, the usual Stable Diffusion default.
STYLIZE_TO_GUIDANCE = ((0, 3.0), (100, 7.0), (1000, 15.0))

# Midjourney parameters (V7 and older) that mean nothing here: ignored with a warning, so a prompt pasted from
# Midjourney still runs. docs/prompt-flags.md has the table of what is supported, mapped and ignored.
MIDJOURNEY_ONLY_FLAGS = frozenset(
    {
        "v",
        "version",
        "niji",
        "q",
        "quality",
        "style",
        "raw",
        "weird",
        "w",
        "stop",
        "exp",
        "draft",
        "hd",
        "fast",
        "relax",
        "turbo",
        "public",
        "stealth",
        "video",
        "motion",
        "loop",
        "end",
        "bs",
        "cref",
        "cw",
        "sref",
        "sw",
        "sv",
        "oref",
        "ow",
        "p",
        "personalize",
        "profile",
        "edit",
        "zoom",
        "sameseed",
        "test",
        "testp",
        "uplight",
        "upbeta",
        "creative",
    }
)
# Flags `engine.permutations.expand_prompt` takes out before a prompt is parsed: /imagine runs that many jobs.
EXPANDED_FLAGS = frozenset({"repeat", "r"})

_DASHES = r"(?:--|-[\u2013\u2014]|[\u2013\u2014][-\u2013\u2014]?)"
FLAG_PATTERN = re.compile(r"(?<!\S)" + _DASHES + r"([A-Za-z][A-Za-z0-9_-]*)")
_WHOLE = re.compile(r"[0-9]{1,12}")
_DECIMAL = re.compile(r"(?:[0-9]{1,12}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})(?:[eE][-+]?[0-9]{1,3})?")
_RATIO = re.compile(r"([0-9]{1,12})\s*:\s*([0-9]{1,12})")
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")
_LORA = re.compile(r"([a-z0-9][a-z0-9._-]{0,31})(?:\s*:\s*(\S+))?")


class FlagError(ValueError):
    """A prompt the bot cannot run; the message is written for the person who typed it."""


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not _WHOLE.fullmatch(value) or not low <= int(value) <= high:
            raise ValueError(value)
        return int(value)

    return parse


def _decimal(low: float, high: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        if not _DECIMAL.fullmatch(value) or not low <= float(value) <= high:
            raise ValueError(value)
        return float(value)

    return parse


def parse_aspect(value: str) -> tuple[int, int]:
    """'16:9' -> (16, 9), reduced ('1920:1080' -> (16, 9)); ValueError outside 1:4 .. 4:1."""
    match = _RATIO.fullmatch(value.strip())
    if not match:
        raise ValueError(value)
    return _check_aspect((int(match[1]), int(match[2])))


def _check_aspect(aspect: tuple[int, int]) -> tuple[int, int]:
    width, height = aspect
    if not (1 <= width <= MAX_ASPECT_SIDE and 1 <= height <= MAX_ASPECT_SIDE):
        raise ValueError(f"aspect sides must be whole numbers from 1 to {MAX_ASPECT_SIDE}")
    if width > MAX_ASPECT_RATIO * height or height > MAX_ASPECT_RATIO * width:
        raise ValueError(f"aspect must lie between 1:{MAX_ASPECT_RATIO} and {MAX_ASPECT_RATIO}:1")
    divisor = gcd(width, height)
    return width // divisor, height // divisor


def stylize_to_guidance(stylize: int) -> float:
    """Guidance for a Midjourney --stylize value, interpolating STYLIZE_TO_GUIDANCE; rounded to
    two decimals so the `--cfg` shown back to the user stays readable."""
    for (low_s, low_g), (high_s, high_g) in zip(STYLIZE_TO_GUIDANCE, STYLIZE_TO_GUIDANCE[1:], strict=False):
        if stylize <= high_s:
            return round(low_g + (stylize - low_s) * (high_g - low_g) / (high_s - low_s), 2)
    raise ValueError(f"stylize {stylize} is above {STYLIZE_TO_GUIDANCE[-1][0]}")


def _terms(value: str) -> list[str]:
    """Comma-separated negative-prompt terms, whitespace tidied, empty ones dropped."""
    return [term for term in (" ".join(raw.split()) for raw in value.split(",")) if term]


def _negative_terms(value: str) -> list[str]:
    terms = _terms(value)
    if not terms:
        raise ValueError(value)
    return terms


def _model_name(value: str) -> str:
    if len(value) > MAX_MODEL_NAME or not _MODEL_NAME.fullmatch(value) or ".." in value:
        raise ValueError(value)
    return value


def _lora(value: str) -> list[LoraChoice]:
    match = _LORA.fullmatch(value.strip().lower())
    if not match:
        raise ValueError(value)
    weight = None if match[2] is None else _decimal(0.0, MAX_LORA_WEIGHT)(match[2])
    return [LoraChoice(name=match[1], weight=weight)]


def _sampler(value: str) -> str:
    try:
        return normalize_sampler(value)
    except UnknownSamplerError:
        raise ValueError(value) from None


def _switch(value: str) -> bool:
    if value:
        raise ValueError(value)
    return True


@dataclass(frozen=True)
class _Flag:
    name: str
    aliases: tuple[str, ...]
    usage: str
    parse: Callable[[str], Any]
    repeatable: bool = False


_ASPECT_USAGE = f"W:H with whole numbers between 1:{MAX_ASPECT_RATIO} and {MAX_ASPECT_RATIO}:1, like --ar 3:2"
_FLAGS = (
    _Flag("ar", ("aspect",), _ASPECT_USAGE, parse_aspect),
    _Flag("seed", (), f"a whole number from 0 to {MAX_SEED}, like --seed 1234", _whole(0, MAX_SEED)),
    _Flag(
        "no",
        (),
        "things to keep out of the image, separated by commas, like --no text, watermark",
        _negative_terms,
        repeatable=True,
    ),
    _Flag("steps", (), "a whole number from 1 to 150, like --steps 30", _whole(1, 150)),
    _Flag("cfg", (), "a number from 0 to 30, like --cfg 7.5", _decimal(0.0, 30.0)),
    _Flag("stylize", ("s",), "a whole number from 0 to 1000, like --stylize 250", _whole(0, 1000)),
    _Flag("chaos", ("c",), "a whole number from 0 to 100, like --chaos 50", _whole(0, 100)),
    _Flag("tile", (), "no value, like --tile", _switch),
    _Flag(
        "iw",
        (),
        f"a number from 0 to {MAX_IMAGE_WEIGHT:g}, like --iw 1.5 (how much your image weighs against the words)",
        _decimal(0.0, MAX_IMAGE_WEIGHT),
    ),
    _Flag("model", (), "the name of one of this server's models, like --model turbo (/info lists them)", _model_name),
    _Flag("sampler", (), f"one of {', '.join(SAMPLERS)}, like --sampler euler-a", _sampler),
    _Flag(
        "lora",
        (),
        f"the name of one of this server's LoRAs and an optional weight from 0 to {MAX_LORA_WEIGHT:g}, like "
        f"--lora ink or --lora ink:0.6 (at most {MAX_LORAS}; a wrong name lists the server's LoRAs)",
        _lora,
        repeatable=True,
    ),
)
_BY_NAME = {alias: flag for flag in _FLAGS for alias in (flag.name, *flag.aliases)}
ACCEPTED_FLAGS = ", ".join(f"--{flag.name}" for flag in _FLAGS)


class PromptDefaults(BaseModel):
    """Per-user or per-server defaults; a flag in the prompt wins over them, except the
    negative prompt, where the prompt's --no terms are added to the default ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    aspect: tuple[int, int] | None = None
    steps: int | None = Field(default=None, ge=1, le=150)
    guidance: float | None = Field(default=None, ge=0.0, le=30.0)
    sampler: str | None = None
    model: str | None = None
    chaos: int | None = Field(default=None, ge=0, le=100)
    negative_prompt: str = ""

    @field_validator("aspect")
    @classmethod
    def _reduce_aspect(cls, aspect: tuple[int, int] | None) -> tuple[int, int] | None:
        return None if aspect is None else _check_aspect(aspect)

    @field_validator("sampler")
    @classmethod
    def _canonical_sampler(cls, sampler: str | None) -> str | None:
        return None if sampler is None else normalize_sampler(sampler)

    @field_validator("model")
    @classmethod
    def _valid_model(cls, model: str | None) -> str | None:
        return None if model is None else _model_name(model)


def _shown(value: str) -> str:
    if not value:
        return "nothing"
    if len(value) > MAX_SHOWN_VALUE:
        value = value[: MAX_SHOWN_VALUE - 1] + "…"
    return repr(value)


def _split(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The prompt before the first flag, and (typed flag name, raw value) pairs in order."""
    matches = list(FLAG_PATTERN.finditer(text))
    if not matches:
        return text.strip(), []
    ends = [match.start() for match in matches[1:]] + [len(text)]
    pairs = [(match[1].lower(), text[match.end() : end].strip()) for match, end in zip(matches, ends, strict=False)]
    return text[: matches[0].start()].strip(), pairs


def _parse_flags(pairs: list[tuple[str, str]]) -> tuple[dict[str, Any], list[str]]:
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for typed, raw in pairs:
        if typed in MIDJOURNEY_ONLY_FLAGS:
            warnings.append(f"--{typed} is a Midjourney option this bot does not have; ignored it")
            continue
        if typed in EXPANDED_FLAGS:
            warnings.append(f"--{typed} makes several jobs, which only /imagine does; ignored it here")
            continue
        flag = _BY_NAME.get(typed)
        if flag is None:
            raise FlagError(f"unknown flag --{typed}; accepted flags: {ACCEPTED_FLAGS}")
        if flag.name in values and not flag.repeatable:
            raise FlagError(f"--{flag.name} given twice")
        try:
            value = flag.parse(raw)
        except ValueError:
            raise FlagError(f"--{typed} expects {flag.usage} (got {_shown(raw)})") from None
        values[flag.name] = values.get(flag.name, []) + value if flag.repeatable else value
    if "cfg" in values and "stylize" in values:
        raise FlagError("use either --cfg or --stylize, not both: both set the guidance")
    _check_loras(values.get("lora", []))
    return values, warnings


def _check_loras(loras: list[LoraChoice]) -> None:
    if len(loras) > MAX_LORAS:
        raise FlagError(f"at most {MAX_LORAS} --lora flags in one prompt (got {len(loras)})")
    names = [lora.name for lora in loras]
    if len(set(names)) != len(names):
        raise FlagError("each LoRA may be named once: give one --lora per name, with the weight you want")


def _merge_terms(*groups: list[str]) -> str:
    merged: dict[str, str] = {}
    for group in groups:
        for term in group:
            merged.setdefault(term.lower(), term)
    return ", ".join(merged.values())


def parse_prompt(
    text: str, defaults: PromptDefaults | None = None, *, models: ModelRegistry | None = None
) -> GenerationRequest:
    """A GenerationRequest for `text`, or FlagError saying what to fix. With `models`, a model that is not
    registered there (from --model, or a stale default from /settings) is refused by name."""
    defaults = defaults or PromptDefaults()
    prompt, pairs = _split(text)
    values, warnings = _parse_flags(pairs)
    if models is not None:
        _check_registered(values.get("model"), defaults.model, models)
        _check_registered_loras(values.get("lora", []), models)
    if not prompt:
        raise FlagError("the prompt is empty: describe the image before any flags, like: a red fox in snow --ar 3:2")
    negative_prompt = _merge_terms(_terms(defaults.negative_prompt), values.get("no", []))
    _check_weights(prompt, negative_prompt)
    guidance = values.get("cfg", defaults.guidance)
    if "stylize" in values:
        guidance = stylize_to_guidance(values["stylize"])
    fields: dict[str, Any] = {
        "prompt": prompt,
        "negative_prompt": negative_prompt,
        "aspect": values.get("ar", defaults.aspect or (1, 1)),
        "steps": values.get("steps", defaults.steps),
        "guidance": guidance,
        # A typed --sampler must suit the model; the /settings one gives way where it does not (Engine.resolve).
        "sampler": values.get("sampler"),
        "default_sampler": None if "sampler" in values else defaults.sampler,
        "chaos": values.get("chaos", defaults.chaos or 0),
        "tile": values.get("tile", False),
        "model": values.get("model", defaults.model),
        "loras": tuple(values.get("lora", [])),
        "warnings": tuple(warnings),
    }
    if "seed" in values:
        fields["seed"] = values["seed"]
    if "iw" in values:
        fields["image_weight"] = values["iw"]
    return GenerationRequest(**fields)


def _check_weights(prompt: str, negative_prompt: str) -> None:
    for label, text in (("prompt", prompt), ("--no", negative_prompt)):
        try:
            parse_weights(text)
        except PromptWeightError as error:
            raise FlagError(f"the weights in your {label} cannot be used: {error}") from None


def _check_registered(flag: str | None, default: str | None, models: ModelRegistry) -> None:
    names = ", ".join(models.names)
    if flag is not None and flag not in models:
        raise FlagError(f"--model expects one of this server's models: {names} (got {_shown(flag)})")
    if flag is None and default is not None and default not in models:
        raise FlagError(
            f"your default model {_shown(default)} (from /settings) is not available here any more; "
            f"choose one of {names} with /settings model"
        )


def _check_registered_loras(loras: list[LoraChoice], models: ModelRegistry) -> None:
    for lora in loras:
        if lora.name not in models.loras:
            names = ", ".join(models.loras.names) or "none, this server has no LoRAs"
            raise FlagError(f"--lora expects one of this server's LoRAs: {names} (got {_shown(lora.name)})")


def _format_number(number: float) -> str:
    return str(int(number)) if number.is_integer() else repr(number)


def aspect_flag(aspect: tuple[int, int]) -> str:
    """`--ar W:H`, as a member would type it."""
    return f"--ar {aspect[0]}:{aspect[1]}"


def format_flags(request: GenerationRequest, defaults: PromptDefaults | None = None) -> str:
    """The canonical flag suffix for `request`, leaving out what `defaults` already supply, so
    that parse_prompt(request.prompt + " " + format_flags(request, d), d) rebuilds the request.
    The seed is always shown: it is what makes an image reproducible."""
    defaults = defaults or PromptDefaults()
    parts = []
    if request.aspect != (defaults.aspect or (1, 1)):
        parts.append(aspect_flag(request.aspect))
    parts.append(f"--seed {request.seed}")
    default_terms = {term.lower() for term in _terms(defaults.negative_prompt)}
    extra_terms = [t for t in _terms(request.negative_prompt) if t.lower() not in default_terms]
    if extra_terms:
        parts.append(f"--no {', '.join(extra_terms)}")
    if request.steps is not None and request.steps != defaults.steps:
        parts.append(f"--steps {request.steps}")
    if request.guidance is not None and request.guidance != defaults.guidance:
        parts.append(f"--cfg {_format_number(request.guidance)}")
    if request.chaos != (defaults.chaos or 0):
        parts.append(f"--chaos {request.chaos}")
    if request.tile:
        parts.append("--tile")
    if request.image_weight is not None and request.image_weight != DEFAULT_IMAGE_WEIGHT:
        parts.append(f"--iw {_format_number(request.image_weight)}")
    if request.model is not None and request.model != defaults.model:
        parts.append(f"--model {request.model}")
    if request.sampler is not None:  # typed (even the /settings one: typed, it must suit the model) or resolved
        parts.append(f"--sampler {request.sampler}")
    for lora in request.loras:
        parts.append(f"--lora {lora.name}" + ("" if lora.weight is None else f":{_format_number(lora.weight)}"))
    return " ".join(parts)
