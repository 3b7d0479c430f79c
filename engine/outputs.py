"""Saving results as PNG files that carry their own recipe.

Every PNG gets two text chunks: `parameters` in the AUTOMATIC1111 format (so other tools show
the prompt and settings) and `imagine`, our JSON record with the full resolved request and the
batch size and slot the image was made at, which is enough to regenerate it bit for bit.

The stored files keep all of it. A copy that leaves the machine (an upload to Discord) carries only
`parameters` and the job id (`public_png`): the record names devices and library versions, which
are nobody else's business.
"""

from __future__ import annotations

import dataclasses
import json
import math
import struct
import zlib
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
JOB_CHUNK = "imagine-job"
"""A public copy's only other text chunk: the job id, for `/reproduce` and `/show`."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt"})
# The ancillary chunks a public copy keeps: they change how the pixels look, and say nothing about where the
# image was made. Every critical chunk (upper-case first letter) is kept too; everything else is dropped.
APPEARANCE_CHUNKS = frozenset({b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs", b"bKGD", b"cICP"})


@dataclass(frozen=True)
class SavedImages:
    grid: Path
    images: list[Path]


def grid_shape(count: int) -> tuple[int, int]:
    """(columns, rows) of the grid of `count` images: near-square, 2×2 for four."""
    columns = math.ceil(math.sqrt(count))
    return columns, math.ceil(count / columns)


def grid_cell(position: int, count: int, size: tuple[int, int]) -> tuple[int, int]:
    """The top-left corner of image `position` (0-based) in the grid of `count` images of `size`."""
    columns, _ = grid_shape(count)
    return (position % columns) * size[0], (position // columns) * size[1]


def make_grid(images: list[Image.Image]) -> Image.Image:
    """Images left to right, top to bottom, in a near-square grid (2×2 for four)."""
    if not images:
        raise ValueError("make_grid needs at least one image")
    columns, rows = grid_shape(len(images))
    width, height = images[0].size
    grid = Image.new("RGB", (columns * width, rows * height))
    for index, image in enumerate(images):
        grid.paste(image, grid_cell(index, len(images), (width, height)))
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
        with open_checked(path, max_pixels, formats=("PNG",)) as image:
            text = image.text.get(RECORD_CHUNK)
            shared_job = image.text.get(JOB_CHUNK)
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot read {Path(path).name}: {error}") from None
    if text is None:
        if shared_job:
            raise ValueError(
                f"{Path(path).name} is a copy shared outside the bot, which carries only the prompt and the job id "
                f"({shared_job}); reproduce it with /reproduce in Discord, or from the stored file"
            )
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


def public_png(png: bytes) -> bytes:
    """The PNG as it may leave the machine: its pixels untouched, its text reduced to the A1111 `parameters` and
    the job id (read from the record, which is dropped with every other text chunk). Chunks are copied, not
    decoded; a file that is not a well-formed PNG raises ValueError. Returns `png` itself when there is nothing
    to change."""
    chunks = list(_png_chunks(png))
    job_id, shared = None, False
    kept: list[bytes] = []
    changed = False
    for kind, data, raw in chunks:
        if kind in TEXT_CHUNKS:
            keyword = data.split(b"\0", 1)[0]
            if keyword == RECORD_CHUNK.encode() and kind == b"tEXt":
                job_id = _record_job_id(data[len(keyword) + 1 :])
            if keyword == JOB_CHUNK.encode():  # already a public copy
                shared = True
            if keyword in (PARAMETERS_CHUNK.encode(), JOB_CHUNK.encode()):
                kept.append(raw)
                continue
            changed = True
            continue
        if kind[:1].isupper() or kind in APPEARANCE_CHUNKS:
            if kind == b"IDAT" and job_id is not None and not shared:
                kept.append(_text_chunk(JOB_CHUNK, job_id))
                job_id, changed = None, True
            kept.append(raw)
            continue
        changed = True
    return PNG_SIGNATURE + b"".join(kept) if changed else png


def _png_chunks(png: bytes):
    """(type, data, the chunk's bytes) of each chunk, up to IEND; ValueError for anything malformed."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    offset = len(PNG_SIGNATURE)
    while offset + 12 <= len(png):
        length, kind = struct.unpack(">I4s", png[offset : offset + 8])
        end = offset + 12 + length
        if end > len(png) or not kind.isalpha():
            raise ValueError("damaged PNG chunk")
        data = png[offset + 8 : offset + 8 + length]
        if zlib.crc32(kind + data) != struct.unpack(">I", png[end - 4 : end])[0]:
            raise ValueError("damaged PNG chunk (checksum)")
        yield kind, data, png[offset:end]
        if kind == b"IEND":
            return
        offset = end
    raise ValueError("truncated PNG")


def _record_job_id(text: bytes) -> str | None:
    try:
        job_id = json.loads(text.decode("latin-1")).get("job_id")
    except (ValueError, AttributeError):
        return None
    return str(job_id) if job_id else None


def _text_chunk(keyword: str, text: str) -> bytes:
    data = keyword.encode("latin-1") + b"\0" + text.encode("latin-1", "replace")
    return struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
