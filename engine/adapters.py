"""LoRA adapters in one loaded model, switched per run without reloading the base model.

Each registered LoRA is loaded into the pipeline once, as a PEFT adapter named after its registry entry
(diffusers' `load_lora_weights`), the first time a run asks for it. Every run then activates exactly its
own adapters and weights with `set_adapters`, or disables them all: a disabled PEFT layer runs only its
base layer, so a run without LoRAs gives the pixels of a model that never had one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from diffusers import DiffusionPipeline

from engine.loras import RegisteredLora
from engine.results import RequestError

log = logging.getLogger(__name__)


class Adapters:
    def __init__(self, pipe: DiffusionPipeline, model_name: str) -> None:
        self._pipe = pipe
        self._model_name = model_name
        self._loaded: set[str] = set()

    @property
    def loaded(self) -> frozenset[str]:
        return frozenset(self._loaded)

    def activate(self, loras: Sequence[tuple[RegisteredLora, float]]) -> None:
        """Make `loras` (entry, weight) the only active adapters, loading those not loaded yet."""
        for entry, _ in loras:
            if entry.name not in self._loaded:
                self._load(entry)
        if loras:
            self._pipe.enable_lora()
            self._pipe.set_adapters([entry.name for entry, _ in loras], [weight for _, weight in loras])
        elif self._loaded:
            self._pipe.disable_lora()

    def _load(self, entry: RegisteredLora) -> None:
        path = Path(entry.source).expanduser()
        try:
            if path.is_file():
                self._pipe.load_lora_weights(str(path.parent), weight_name=path.name, adapter_name=entry.name)
            else:
                self._pipe.load_lora_weights(str(path), adapter_name=entry.name)
        except Exception as error:  # missing file, foreign keys, another architecture: all mean "unusable"
            log.error("loading LoRA %r (%s) into %r failed: %s", entry.name, entry.source, self._model_name, error)
            # A half-loaded adapter (some modules matched) must not linger into later runs.
            if any(entry.name in names for names in self._pipe.get_list_adapters().values()):
                self._pipe.delete_adapters(entry.name)
            raise RequestError(
                f"The LoRA {entry.name!r} could not be loaded into the model {self._model_name!r}, so this job "
                "was not made; the bot's log says why (often: it was trained for another model)."
            ) from error
        self._loaded.add(entry.name)
