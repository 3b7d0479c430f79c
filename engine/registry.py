"""The models members may choose from: the operator's list, never a member's.

`MODEL_ID` is the entry named `default` (the embedded default model when unset); `MODELS` adds
named entries. Members name an entry (`--model turbo`, `/settings model`); a name that is not
registered is refused before a job exists, and the engine refuses it again for stored jobs and PNG
records, so an old button cannot bring in a model the operator did not register. Local paths and
hub ids come only from here.

`MODELS` takes a comma list of `name=source[@revision][?key=value&...]`, e.g.

    MODELS="sdxl=stabilityai/stable-diffusion-xl-base-1.0, turbo=stabilityai/sdxl-turbo?steps=4&guidance=0"

or a JSON list of objects with the same fields (`name`, `source`, `revision`, `description`, `steps`,
`guidance`, `sampler`, `size`, `ip_adapter`). Pure Python: the bot checks names without importing torch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.loras import LoraRegistry, RegisteredLora
from engine.results import RequestError
from engine.sources import CHECKPOINT_SUFFIXES, DEFAULT_MODEL, NAME_PATTERN, is_local_file, looks_like_path

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "DEFAULT_MODEL",
    "ModelRegistry",
    "RegisteredModel",
    "UnknownModel",
    "looks_like_path",
    "parse_models",
]
# Per-model defaults a comma-list entry may set after `?`.
PRESET_FIELDS = ("description", "steps", "guidance", "sampler", "size", "ip_adapter")
IP_ADAPTER_SUFFIXES = (".safetensors", ".bin")


class RegisteredModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    source: str | None = None
    """Hub id, local diffusers folder or single .safetensors/.ckpt file; None is the embedded default model."""
    revision: str | None = None
    """A hub branch, tag or commit to pin the download to."""
    description: str = ""
    steps: int | None = Field(default=None, ge=1, le=150)
    guidance: float | None = Field(default=None, ge=0.0, le=30.0)
    sampler: str | None = None
    size: int | None = Field(default=None, ge=64, le=4096)
    """The side it draws best at (its training size); default: read from the model."""
    ip_adapter: str | None = None
    """An IP-Adapter weights file that /blend conditions on (`engine.ip_adapter`): a hub file such as
    h94/IP-Adapter/models/ip-adapter_sd15.safetensors, or a local path starting with /, ./ or ~; its
    `image_encoder` folder beside it."""

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not NAME_PATTERN.fullmatch(name):
            raise ValueError(f"model name {name!r} must be 1-32 lowercase letters, digits, '.', '_' or '-'")
        return name

    @field_validator("ip_adapter")
    @classmethod
    def _check_ip_adapter(cls, spec: str | None) -> str | None:
        if spec is not None and (
            not spec.endswith(IP_ADAPTER_SUFFIXES) or (not is_local_file(spec) and spec.count("/") < 2)
        ):
            raise ValueError(
                f"ip_adapter {spec!r} must name the weights file: owner/repo/[folder/]file.safetensors on the hub, "
                "or a local path to a .safetensors or .bin file"
            )
        return spec

    @property
    def from_hub(self) -> bool:
        return self.source is not None and not looks_like_path(self.source)

    @property
    def label(self) -> str:
        return self.source or "the embedded default model"


class UnknownModel(RequestError):
    """A model name that is not registered; the message lists the ones that are."""


class ModelRegistry:
    def __init__(self, entries: Iterable[RegisteredModel], loras: Iterable[RegisteredLora] = ()) -> None:
        self._entries: dict[str, RegisteredModel] = {}
        for entry in entries:
            if entry.name in self._entries:
                raise ValueError(f"model {entry.name!r} is registered twice")
            self._entries[entry.name] = entry
        if DEFAULT_MODEL not in self._entries:
            self._entries = {DEFAULT_MODEL: RegisteredModel(name=DEFAULT_MODEL), **self._entries}
        self.loras = LoraRegistry(loras, self.names)
        """The LoRAs members may add (`engine.loras`), each checked against these models."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    @property
    def entries(self) -> tuple[RegisteredModel, ...]:
        return tuple(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name is None or name in self._entries

    def get(self, name: str | None) -> RegisteredModel:
        """The entry for a request's `model` (None: the default)."""
        entry = self._entries.get(name or DEFAULT_MODEL)
        if entry is None:
            raise UnknownModel(
                f"The model {_shown(name)} is not available on this server; choose one of: {', '.join(self.names)}."
            )
        return entry


def parse_models(text: str) -> list[RegisteredModel]:
    """`MODELS` as written in the environment: a JSON list, or a comma list of name=source entries."""
    text = text.strip()
    if not text:
        return []
    try:
        if text.startswith("["):
            return [RegisteredModel.model_validate(item) for item in json.loads(text)]
        return [_parse_entry(part.strip()) for part in text.split(",") if part.strip()]
    except (ValidationError, ValueError) as error:
        raise ValueError(f"MODELS is invalid: {error}") from None


def _parse_entry(text: str) -> RegisteredModel:
    name, equals, rest = text.partition("=")
    if not equals or not rest.strip():
        raise ValueError(f"{text!r} should look like name=owner/model or name=/path/to/model")
    source, _, query = rest.strip().partition("?")
    source, _, revision = source.partition("@")
    presets = dict(parse_qsl(query, strict_parsing=bool(query)))
    unknown = set(presets) - set(PRESET_FIELDS)
    if unknown:
        raise ValueError(
            f"{name.strip()}: unknown setting(s) {', '.join(sorted(unknown))}; use {', '.join(PRESET_FIELDS)}"
        )
    return RegisteredModel(name=name.strip(), source=source.strip(), revision=revision.strip() or None, **presets)


def _shown(name: str | None) -> str:
    text = str(name)
    return repr(text if len(text) <= 60 else text[:59] + "…")
