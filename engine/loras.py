"""The LoRAs members may add to a model: the operator's list, like the models (`engine.registry`).

`LORAS` takes a comma list of `name=path[?key=value&...]`, e.g.

    LORAS="ink=/models/loras/ink.safetensors?weight=0.8&model=sdxl, grain=/models/loras/grain.safetensors?always=1"

or a JSON list of objects with the same fields (`name`, `source`, `weight`, `always`, `models`,
`description`). `model` names a registered model the LoRA was trained for; repeat it for several
(`model=sdxl&model=juggernaut`); without it, the LoRA is for the `default` model. `weight` (0 to 2, default
1) is used when a member writes `--lora ink` without one. `always=1` applies the LoRA to every job of its
models (a member turns it off with `--lora grain:0`). Sources are local files or folders only: engines run
with the hub offline. Pure Python: the bot checks names without importing torch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.request import MAX_LORA_WEIGHT, MAX_LORAS, LoraChoice
from engine.results import RequestError
from engine.sources import DEFAULT_MODEL, NAME_PATTERN, looks_like_path

SETTINGS = ("weight", "always", "model", "description")


class RegisteredLora(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    source: str
    """A LoRA .safetensors file, or a folder holding pytorch_lora_weights.safetensors."""
    weight: float = Field(default=1.0, ge=0.0, le=MAX_LORA_WEIGHT)
    always: bool = False
    models: tuple[str, ...] = (DEFAULT_MODEL,)
    description: str = ""

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not NAME_PATTERN.fullmatch(name):
            raise ValueError(f"LoRA name {name!r} must be 1-32 lowercase letters, digits, '.', '_' or '-'")
        return name

    @field_validator("source")
    @classmethod
    def _check_source(cls, source: str) -> str:
        if not looks_like_path(source):
            raise ValueError(
                f"LoRA source {source!r} is not a local path; engines run with the hub offline, so download the "
                "LoRA once and point LORAS at the .safetensors file"
            )
        return source


class UnknownLora(RequestError):
    """A LoRA name that is not registered, or not for the model asked for; the message says which would do."""


def parse_loras(text: str) -> list[RegisteredLora]:
    """`LORAS` as written in the environment: a JSON list, or a comma list of name=path entries."""
    text = text.strip()
    if not text:
        return []
    try:
        if text.startswith("["):
            return [RegisteredLora.model_validate(item) for item in json.loads(text)]
        return [_parse_entry(part.strip()) for part in text.split(",") if part.strip()]
    except (ValidationError, ValueError) as error:
        raise ValueError(f"LORAS is invalid: {error}") from None


def _parse_entry(text: str) -> RegisteredLora:
    name, equals, rest = text.partition("=")
    if not equals or not rest.strip():
        raise ValueError(f"{text!r} should look like name=/path/to/lora.safetensors")
    source, _, query = rest.strip().partition("?")
    pairs = parse_qsl(query, strict_parsing=bool(query))
    unknown = {key for key, _ in pairs} - set(SETTINGS)
    if unknown:
        raise ValueError(f"{name.strip()}: unknown setting(s) {', '.join(sorted(unknown))}; use {', '.join(SETTINGS)}")
    fields: dict = {key: value for key, value in pairs if key != "model"}
    models = tuple(value for key, value in pairs if key == "model")
    if models:
        fields["models"] = models
    return RegisteredLora(name=name.strip(), source=source.strip(), **fields)


class LoraRegistry:
    def __init__(self, entries: Iterable[RegisteredLora], model_names: Iterable[str]) -> None:
        self._entries: dict[str, RegisteredLora] = {}
        known = set(model_names)
        for entry in entries:
            if entry.name in self._entries:
                raise ValueError(f"LoRA {entry.name!r} is registered twice")
            strangers = [model for model in entry.models if model not in known]
            if strangers:
                raise ValueError(f"LoRA {entry.name!r} is for model(s) {', '.join(strangers)}: not registered")
            self._entries[entry.name] = entry
        for model in known:
            if len(self.always_for(model)) > MAX_LORAS:
                raise ValueError(f"model {model!r} has more than {MAX_LORAS} LoRAs with always=1")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    @property
    def entries(self) -> tuple[RegisteredLora, ...]:
        return tuple(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str) -> RegisteredLora:
        entry = self._entries.get(name)
        if entry is None:
            listed = ", ".join(self.names) or "none are registered"
            raise UnknownLora(f"The LoRA {name[:40]!r} is not available on this server; choose one of: {listed}.")
        return entry

    def always_for(self, model: str) -> list[RegisteredLora]:
        return [entry for entry in self._entries.values() if entry.always and model in entry.models]

    def resolve(self, model: str, asked: Iterable[LoraChoice]) -> tuple[LoraChoice, ...]:
        """The LoRAs a run of `model` applies, weights filled in: the asked ones, each registered for that
        model, then the model's always-on ones the member did not name."""
        chosen = []
        for choice in asked:
            entry = self.get(choice.name)
            if model not in entry.models:
                raise UnknownLora(
                    f"The LoRA {entry.name!r} is made for {', '.join(entry.models)}, not for the model {model!r}; "
                    f"pick one of those with --model, or leave --lora {entry.name} out."
                )
            chosen.append(LoraChoice(name=entry.name, weight=entry.weight if choice.weight is None else choice.weight))
        named = {choice.name for choice in chosen}
        always = [LoraChoice(name=e.name, weight=e.weight) for e in self.always_for(model) if e.name not in named]
        return (*chosen, *always)
