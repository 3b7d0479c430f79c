"""Saving results as PNG files that carry their own recipe.

Every PNG gets two text chunks: `parameters` in the AUTOMATIC1111 format (so other tools show
the prompt and settings) and `imagine`, our JSON record with the full resolved request and the
batch size and slot the image was made at, which is enough to regenerate it bit for bit.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from engine.budgets import open_checked
from engine.request import GenerationRequest
from engine.results import GenerationResult
from engine.samplers import sampler_label

RECORD_CHUNK = "imagine"
# Without settings at hand, the largest image read_record opens: 16 images of 1024² (a full grid).
DEFAULT_RECORD_PIXELS = 16 * 1024 * 1024
PARAMETERS_CHUNK = "parameters"


@dataclass(frozen=True)
class SavedImages:
    grid: Path
    images: list[Path]


def make_grid(images: list[Image.Image]) -> Image.Image:
    """Images left to right, top to bottom, in a near-square grid (2×2 for four)."""
    if not images:
        raise ValueError("make_grid needs at least one image")
    columns = math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    width, height = images[0].size
    grid = Image.new("RGB", (columns * width, rows * height))
    for index, image in enumerate(images):
        grid.paste(image, ((index % columns) * width, (index // columns) * height))
    return grid


def save_result(result: GenerationResult, out_dir: str | Path, job_id: str | None = None) -> SavedImages:
    """Write grid.png and 1.png … N.png into `out_dir` (created if needed)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, (image, seed) in enumerate(zip(result.images, result.seeds, strict=True)):
        path = out_dir / f"{index + 1}.png"
        image.save(path, pnginfo=_png_info(result, job_id, index, seed, result.slots[index]))
        paths.append(path)
    grid_path = out_dir / "grid.png"
    make_grid(result.images).save(grid_path, pnginfo=_png_info(result, job_id, None, result.request.seed, None))
    return SavedImages(grid_path, paths)


def _png_info(result: GenerationResult, job_id: str | None, index: int | None, seed: int, slot: int | None) -> PngInfo:
    request = result.request
    run = result.run
    record = {
        "job_id": job_id,
        "index": index,
        "seed": seed,
        "request": request.model_dump(mode="json"),
        "model": run.model,
        "scheduler": run.scheduler,
        "dtype": run.dtype,
        "device": run.device,
        "versions": dataclasses.asdict(run.versions),
        "batch_size": run.batch_size,
        "slot": slot,
        # The content filter's verdict (engine.safety): this image's, or each image's for the grid.
        "flagged": result.is_flagged(index) if index is not None else [bool(flag) for flag in result.flagged],
    }
    info = PngInfo()
    info.add_text(PARAMETERS_CHUNK, a1111_parameters(request, seed, run.model))
    info.add_text(RECORD_CHUNK, json.dumps(record))
    return info


def a1111_parameters(request: GenerationRequest, seed: int, model: str) -> str:
    # AUTOMATIC1111 names LoRAs inside the prompt, as <lora:name:weight> tags.
    tags = "".join(f" <lora:{lora.name}:{lora.weight:g}>" for lora in request.loras if lora.weight is not None)
    lines = [request.prompt + tags]
    if request.negative_prompt:
        lines.append(f"Negative prompt: {request.negative_prompt}")
    lines.append(
        f"Steps: {request.steps}, Sampler: {sampler_label(request.sampler)}, CFG scale: {request.guidance:g}, "
        f"Seed: {seed}, Size: {request.width}x{request.height}, Model: {model}"
    )
    return "\n".join(lines)


def read_record(
    path: str | Path, max_pixels: int = DEFAULT_RECORD_PIXELS
) -> tuple[GenerationRequest, int | None, dict]:
    """The request that regenerates this PNG, its index in the job, and the stored record.

    For a single image (1.png …) the request replays exactly that image: count 1, its own seed,
    and the batch size and slot it was made at, so `Engine.run` returns identical pixels. For the
    grid (index None) it is the job's full request. The file is trusted no more than any other: an
    image larger than `max_pixels` (a decompression bomb) is refused from its header, and the record is
    validated as a request (the engine then checks its model and budgets like any other).
    """
    try:
        with open_checked(path, max_pixels) as image:
            text = image.text.get(RECORD_CHUNK)
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read {Path(path).name}: {error}") from None
    if text is None:
        raise ValueError(f"{path} has no '{RECORD_CHUNK}' record; only images saved by this engine can be reproduced")
    try:
        record = json.loads(text)
        request = GenerationRequest.model_validate(record["request"])
        index = record["index"]
        if index is not None:
            replay = {
                "seed": record["seed"],
                "count": 1,
                "replay_batch": record["batch_size"],
                "replay_slot": record["slot"],
            }
            request = GenerationRequest.model_validate(request.model_dump() | replay)
    except (ValueError, KeyError, TypeError) as error:  # json and pydantic errors are ValueErrors
        raise ValueError(f"{path} has a damaged '{RECORD_CHUNK}' record and cannot be reproduced ({error})") from None
    return request, index, record
