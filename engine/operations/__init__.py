"""Operations on an existing image: variation, upscale, zoom out, pan and Vary (Region); and image prompts.

Each one turns its source image (or the member's image prompts) into a `SourcePlan`: which pipeline to run
(image-to-image or inpainting, both sharing the loaded model's weights), the starting image at the output size,
the mask of the area to paint, the strength, and what to lay back over the result. The engine runs every plan
the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PIL import Image

from engine.budgets import fit_within
from engine.operations import image_prompt, outpaint, region, upscale, variation
from engine.request import DEFAULT_IMAGE_WEIGHT, GenerationRequest, Operation


@dataclass(frozen=True)
class Kept:
    """Source pixels laid back over every result at `offset`, so the known area stays exact: all of `image`, or
    where `mask` is white (a grey mask blends)."""

    image: Image.Image
    offset: tuple[int, int]
    mask: Image.Image | None = None


@dataclass(frozen=True)
class SourcePlan:
    pipeline: Literal["image_to_image", "inpainting"]
    image: Image.Image
    strength: float
    mask: Image.Image | None = None
    """White where new content is painted (inpainting only)."""
    keep: Kept | None = None


def output_size(
    request: GenerationRequest, source_size: tuple[int, int], multiple: int, max_pixels: int
) -> tuple[int, int]:
    match request.operation:
        case Operation.VARIATION | Operation.REGION:
            return fit_within(variation.output_size(source_size, multiple), max_pixels, multiple)
        case Operation.UPSCALE:
            return upscale.output_size(source_size, multiple)
        case Operation.ZOOM:
            return _zoom_layout(request, source_size, multiple, max_pixels).canvas
        case Operation.PAN:
            return outpaint.pan_layout(source_size, request.direction, multiple, max_pixels).canvas
    raise ValueError(f"{request.operation} does not work on a source image")


def default_strength(request: GenerationRequest) -> float:
    match request.operation:
        case Operation.VARIATION:
            return variation.STRENGTHS[request.mode or "strong"]
        case Operation.UPSCALE:
            return upscale.STRENGTHS[request.mode or "subtle"]
        case Operation.REGION:
            return region.STRENGTH
        case Operation.IMAGINE:
            return image_prompt.image_strength(
                DEFAULT_IMAGE_WEIGHT if request.image_weight is None else request.image_weight
            )
    return outpaint.STRENGTH


def plan(request: GenerationRequest, source: Image.Image, multiple: int, max_pixels: int) -> SourcePlan:
    """The plan for a resolved request on an existing image; `source` is the RGB source image."""
    size = (request.width, request.height)
    match request.operation:
        case Operation.VARIATION | Operation.UPSCALE:
            return SourcePlan("image_to_image", source.resize(size, Image.LANCZOS), request.strength)
        case Operation.REGION:
            resized = source.resize(size, Image.LANCZOS)
            paint, keep = region.masks(size, request.region)
            return SourcePlan("inpainting", resized, request.strength, mask=paint, keep=Kept(resized, (0, 0), keep))
        case Operation.ZOOM:
            layout = _zoom_layout(request, source.size, multiple, max_pixels)
        case Operation.PAN:
            layout = outpaint.pan_layout(source.size, request.direction, multiple, max_pixels)
        case _:
            raise ValueError(f"{request.operation} does not work on a source image")
    canvas, mask, placed = outpaint.canvas_and_mask(source, layout)
    return SourcePlan("inpainting", canvas, request.strength, mask=mask, keep=Kept(placed, layout.box[:2]))


def image_prompt_plan(request: GenerationRequest, images: list[Image.Image]) -> SourcePlan:
    """The plan of an imagine request that starts from its image prompts (RGB, in the request's order)."""
    start = image_prompt.start_image(images, (request.width, request.height))
    return SourcePlan("image_to_image", start, request.strength)


def _zoom_layout(request: GenerationRequest, source_size, multiple: int, max_pixels: int) -> outpaint.Layout:
    factor = outpaint.DEFAULT_ZOOM if request.zoom is None else request.zoom
    return outpaint.zoom_layout(source_size, factor, request.canvas_aspect, multiple, max_pixels)
