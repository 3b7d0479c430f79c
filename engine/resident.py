"""The models an engine holds in memory: at most MAX_LOADED_MODELS, the least recently used out first.

A model is loaded into host memory before anything is dropped, so one that fails to load leaves
every resident model serving; only then is the least recently used one freed (device memory
included) and the new one moved onto the device. Members alternating between two registered models
therefore cost at most one load per switch, and with MAX_LOADED_MODELS=2 none after the first two.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections import OrderedDict

import torch

from engine import loading
from engine.default_model import DEFAULT_MODEL_FOLDER
from engine.families import family_for
from engine.memory import MemorySaving
from engine.model import LoadedModel
from engine.registry import ModelRegistry, RegisteredModel
from engine.results import ModelNotFoundError, ModelUnavailable
from engine.speedups import Speedups

log = logging.getLogger(__name__)


class ResidentModels:
    def __init__(
        self,
        registry: ModelRegistry,
        device: torch.device,
        dtype: torch.dtype,
        speedups: Speedups,
        capacity: int,
        memory: MemorySaving | None = None,
    ) -> None:
        self.registry = registry
        self._memory = memory or MemorySaving()
        self._device = device
        self._dtype = dtype
        self._speedups = speedups
        self._capacity = capacity
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.RLock()

    @property
    def names(self) -> tuple[str, ...]:
        """Oldest use first."""
        with self._lock:
            return tuple(self._models)

    def get(self, name: str | None) -> LoadedModel:
        """The loaded model for a request's `model` (None: the default); loads it when needed. An unregistered
        name raises UnknownModel; a model that cannot be loaded raises ModelUnavailable, which names the
        model but not its source (the log has the details)."""
        entry = self.registry.get(name)
        with self._lock:
            loaded = self._models.get(entry.name)
            if loaded is None:
                loaded = self._load(entry)
            self._models.move_to_end(entry.name)
            return loaded

    def _load(self, entry: RegisteredModel) -> LoadedModel:
        source = entry.source or str(DEFAULT_MODEL_FOLDER)
        try:
            pipe = loading.load_pipeline(source, self._dtype, entry.revision, self._memory)
            family = family_for(pipe)
        except ModelNotFoundError as error:
            log.error("loading model %r (%s) failed: %s", entry.name, source, error)
            raise ModelUnavailable(
                f"The model {entry.name!r} could not be loaded right now, so this job was not made. "
                "The models already loaded keep working; the bot's log says what went wrong."
            ) from error
        while len(self._models) >= self._capacity:
            self._free_oldest()
        loaded = LoadedModel(entry, loading.place(pipe, self._device, self._speedups, self._memory), family)
        self._models[entry.name] = loaded
        return loaded

    def _free_oldest(self) -> None:
        name, _ = self._models.popitem(last=False)
        gc.collect()
        if self._device.type == "cuda":
            torch.cuda.empty_cache()
        log.info("unloaded model %r to make room", name)
