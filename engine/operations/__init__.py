"""Operations on an existing image: variation, upscale, zoom out and pan.

Each one turns the source image into a `SourcePlan`: which pipeline to run (image-to-image or
inpainting, both sharing the loaded model's weights), the starting image at the output size, the
mask of the area to paint, and the strength. The engine runs every plan the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PIL import Image

from engine.budgets import fit_within
from engine.operations import outpaint, upscale, variation
from engine.request import GenerationRequest, Operation


@dataclass(frozen=True)
class SourcePlan:
    pipeline: Literal["image_to_image", "inpainting"]
    image: Image.Image
    strength: float
    mask: Image.Image | None = None
    """White where new content is painted (inpainting only)."""
    keep: tuple[Image.Image, tuple[int, int]] | None = None
    """Source pixels pasted back at this offset after generation, so the known area stays exact."""


def output_size(
    request: GenerationRequest, source_size: tuple[int, int], multiple: int, max_pixels: int
) -> tuple[int, int]:
    match request.operation:
        case Operation.VARIATION:
            return fit_within(variation.output_size(source_size, multiple), max_pixels, multiple)
        case Operation.UPSCALE:
            return upscale.output_size(source_size, multiple)
        case Operation.ZOOM:
            return outpaint.zoom_layout(source_size, multiple, max_pixels).canvas
        case Operation.PAN:
            return outpaint.pan_layout(source_size, request.direction, multiple, max_pixels).canvas
    raise ValueError(f"{request.operation} does not work on a source image")


def default_strength(request: GenerationRequest) -> float:
    match request.operation:
        case Operation.VARIATION:
            return variation.STRENGTHS[request.mode or "strong"]
        case Operation.UPSCALE:
            return upscale.STRENGTHS[request.mode or "subtle"]
    return outpaint.STRENGTH


def plan(request: GenerationRequest, source: Image.Image, multiple: int, max_pixels: int) -> SourcePlan:
    """The plan for a resolved request; `source` is the RGB source image."""
    size = (request.width, request.height)
    match request.operation:
        case Operation.VARIATION | Operation.UPSCALE:
            return SourcePlan("image_to_image", source.resize(size, Image.LANCZOS), request.strength)
        case Operation.ZOOM:
            layout = outpaint.zoom_layout(source.size, multiple, max_pixels)
        case Operation.PAN:
            layout = outpaint.pan_layout(source.size, request.direction, multiple, max_pixels)
        case _:
            raise ValueError(f"{request.operation} does not work on a source image")
    canvas, mask, placed = outpaint.canvas_and_mask(source, layout)
    return SourcePlan("inpainting", canvas, request.strength, mask=mask, keep=(placed, layout.box[:2]))
