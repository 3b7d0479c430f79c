"""What a run hands back, and how it fails; torch-free so the queue can import it anywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from engine.request import GenerationRequest


@dataclass(frozen=True)
class Progress:
    step: int
    total: int
    fraction: float
    preview: Image.Image | None = None


@dataclass
class GenerationResult:
    request: GenerationRequest
    """The resolved request: storing it reproduces these images even after the defaults change."""
    images: list[Image.Image]
    seeds: list[int]
    metadata: dict = field(default_factory=dict)


class GenerationCancelled(Exception):
    """The run's cancel event was set; no images were produced."""


class RequestError(ValueError):
    """The request cannot run as asked (unknown sampler, unreadable source image); the message is for the user."""
