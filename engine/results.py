"""What a run hands back, and how it fails; torch-free so the queue can import it anywhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from engine.request import GenerationRequest


@dataclass(frozen=True)
class Progress:
    step: int
    total: int
    fraction: float
    make_preview: Callable[[], Image.Image] | None = field(default=None, repr=False, compare=False)
    """Renders this step's preview when called; None when the run was asked for no previews. Lazy, because a
    preview is only wanted on the steps when one will be sent."""

    def preview(self) -> Image.Image | None:
        return self.make_preview() if self.make_preview is not None else None


@dataclass(frozen=True)
class Versions:
    torch: str
    diffusers: str
    transformers: str


@dataclass(frozen=True)
class RunInfo:
    """How a run made its images: with the request, what it takes to make them again bit for bit."""

    model: str
    scheduler: str
    dtype: str
    device: str
    versions: Versions
    batch_size: int
    """Images in the UNet batch, kept or not (a replay fills the batch with copies)."""
    speedups: dict[str, Any] = field(default_factory=dict)
    upscaler: str | None = None
    """The dedicated upscaler that made an upscale, when UPSCALER_MODEL is set."""


@dataclass
class GenerationResult:
    request: GenerationRequest
    """The resolved request: storing it reproduces these images even after the defaults change."""
    images: list[Image.Image]
    seeds: list[int]
    slots: list[int]
    """Each image's position in the UNet batch that made it."""
    run: RunInfo
    flagged: list[bool] = field(default_factory=list)
    """Per image: the model's safety checker or the operator's classifier found it unsafe (`engine.safety`).
    Empty means none was."""

    def is_flagged(self, position: int) -> bool:
        return bool(self.flagged) and self.flagged[position]


@dataclass(frozen=True)
class DescriptionResult:
    """What /describe produced: prompt suggestions for the request's source image, and no images."""

    request: GenerationRequest
    suggestions: tuple[str, ...]
    """Distinct, non-empty, in the captioner's order; as many as the request's `count` unless the captioner found
    fewer different ones."""
    model: str
    """The captioner that wrote them (CAPTION_MODEL)."""


class GenerationCancelled(Exception):
    """The run's cancel event was set; no images were produced."""


class RequestError(ValueError):
    """The request cannot run as asked (unknown sampler, unreadable source image); the message is for the user."""


class ModelUnavailable(RequestError):
    """A registered model could not be loaded; the message names it but not where it comes from."""


class ModelNotFoundError(RuntimeError):
    """The configured model could not be loaded; the message says what was tried and how to fix it."""


class ContentFilterUnavailable(RuntimeError):
    """The operator's content classifier (CONTENT_CLASSIFIER) cannot be loaded or run, so no image of the job is
    let out unchecked; the message names the setting and how to fix it (for the log, not for members)."""


class CaptionerUnavailable(ModelNotFoundError):
    """The operator's captioning model (CAPTION_MODEL) cannot be loaded or run; the message names the setting and
    how to fix it (for the log, not for members)."""
