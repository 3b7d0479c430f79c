"""New requests made from stored ones: what each button and /reproduce asks the engine for.

Pure functions over `GenerationRequest`, so the rules are tested without Discord or a GPU.
"""

from __future__ import annotations

from typing import Any

from engine.request import Direction, GenerationRequest, Operation, random_seed
from jobs.results import ImageRecord

# Fields that describe one particular run rather than the picture asked for.
_RUN_SPECIFIC = {"warnings": (), "replay_batch": None, "replay_slot": None}


def _rebuild(request: GenerationRequest, **changes: Any) -> GenerationRequest:
    """Copy with validation (pydantic's model_copy would skip it)."""
    return GenerationRequest.model_validate({**request.model_dump(), **_RUN_SPECIFIC, **changes})


def reroll(request: GenerationRequest) -> GenerationRequest:
    return _rebuild(request, seed=random_seed(), chaos_seed=None)


def _from_image(
    request: GenerationRequest, image: ImageRecord, operation: Operation, **changes: Any
) -> GenerationRequest:
    """An image-to-image job on one stored image; the engine sizes the output from the source."""
    fresh = {
        "operation": operation,
        "source_image": str(image.path),
        "width": None,
        "height": None,
        "strength": None,
        "direction": None,
        "mode": None,
        "seed": random_seed(),
        "chaos_seed": None,
        "image_prompts": (),  # they made the source image; an image operation starts from that alone
        "image_weight": None,
        "zoom": None,
        "canvas_aspect": None,
        "region": (),
    }
    return _rebuild(request, **{**fresh, **changes})


def variation(request: GenerationRequest, image: ImageRecord, mode: str) -> GenerationRequest:
    return _from_image(request, image, Operation.VARIATION, mode=mode, count=4)


def upscale(request: GenerationRequest, image: ImageRecord, mode: str) -> GenerationRequest:
    return _from_image(request, image, Operation.UPSCALE, mode=mode, count=1)


def zoom_out(
    request: GenerationRequest,
    image: ImageRecord,
    factor: float | None = None,
    canvas_aspect: tuple[int, int] | None = None,
) -> GenerationRequest:
    """Zoom Out 2x (factor None), 1.5x, Custom Zoom (any factor 1–2 and canvas shape), Make Square (1.0, 1:1)."""
    return _from_image(request, image, Operation.ZOOM, count=4, zoom=factor, canvas_aspect=canvas_aspect)


# Vary (Region)'s 3×3 cells as the form names them, numbered row by row from the top left.
ROWS = ("top", "middle", "bottom")
COLUMNS = ("left", "centre", "right")


def cell_name(cell: int) -> str:
    row, column = ROWS[cell // 3], COLUMNS[cell % 3]
    return "centre" if (row, column) == ("middle", "centre") else f"{row} {column}"


def vary_region(request: GenerationRequest, image: ImageRecord, cells: tuple[int, ...]) -> GenerationRequest:
    """Vary (Region): the chosen 3×3 cells repainted, four results."""
    return _from_image(request, image, Operation.REGION, count=4, region=tuple(sorted(set(cells))))


def pan(request: GenerationRequest, image: ImageRecord, direction: Direction) -> GenerationRequest:
    return _from_image(request, image, Operation.PAN, direction=direction, count=4)


def reproduce(request: GenerationRequest, image: ImageRecord | None = None) -> GenerationRequest:
    """The stored (resolved) request again; for one image, alone but at its original batch shape,
    because kernels differ by batch shape and bit-identical pixels need the same one."""
    if image is None:
        return _rebuild(request)
    return _rebuild(
        request,
        seed=image.seed,
        count=1,
        replay_batch=image.batch_size,
        replay_slot=image.batch_slot,
    )
