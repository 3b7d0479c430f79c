"""What a finished job produced, in one typed record: sent over the engine's pipe, written next to the
images as `result.json`, and recorded in the database.

The file is the durable copy: when the bot's process dies (or its database write fails) after the
images were saved, start-up finds the record beside them, checks every file against its sha256,
and finishes the job from it instead of generating it again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULT_FILE = "result.json"
# DATA_DIR/images/<public_id>/ holds each job's images, grid and record.
IMAGES_FOLDER = "images"


@dataclass(frozen=True)
class ImageRecord:
    """One image of a job. `path` is relative to DATA_DIR where it is stored (pipe, file, database) and
    absolute in the views the bot reads (`located_in`)."""

    index: int
    """1-based, as on the U1…U4 buttons and in the file name."""
    seed: int
    path: Path
    sha256: str
    width: int
    height: int
    batch_size: int
    batch_slot: int
    flagged: bool = False
    """A safety checker or the operator's classifier found it unsafe."""

    def located_in(self, data_dir: Path) -> ImageRecord:
        return dataclasses.replace(self, path=data_dir / self.path)

    def is_intact(self, data_dir: Path) -> bool:
        """The file is there and holds exactly the bytes that were recorded."""
        path = data_dir / self.path
        return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == self.sha256


@dataclass(frozen=True)
class JobResult:
    parameters: dict[str, Any]
    """The resolved request: stored so the record reproduces the images after the defaults change."""
    grid_path: Path | None
    """Relative to DATA_DIR, like every image path; None for a /describe, which makes no images."""
    images: tuple[ImageRecord, ...]
    model: str | None
    batch_images: int
    """How many images the UNet batch that made this job held in total."""
    suggestions: tuple[str, ...] = ()
    """A /describe's prompt suggestions, in order."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> JobResult:
        record = json.loads(text)
        images = tuple(ImageRecord(**{**image, "path": Path(image["path"])}) for image in record["images"])
        return cls(
            parameters=record["parameters"],
            grid_path=Path(record["grid_path"]) if record["grid_path"] is not None else None,
            images=images,
            model=record["model"],
            batch_images=record["batch_images"],
            suggestions=tuple(record.get("suggestions", ())),
        )

    def is_intact(self, data_dir: Path) -> bool:
        """Every file it names holds what was recorded (a /describe names none: the record is all of it)."""
        grid_kept = self.grid_path is None or (data_dir / self.grid_path).is_file()
        return grid_kept and all(image.is_intact(data_dir) for image in self.images)


def result_folder(data_dir: Path, public_id: str) -> Path:
    return data_dir / IMAGES_FOLDER / public_id


def write_result(data_dir: Path, public_id: str, result: JobResult) -> None:
    """Atomically, after the images: a crash leaves either no record or a complete one."""
    target = result_folder(data_dir, public_id) / RESULT_FILE
    partial = target.with_suffix(".partial")
    partial.write_text(result.to_json())
    os.replace(partial, target)


def forget_result(data_dir: Path, public_id: str) -> None:
    """Before a new attempt writes its images, so a stale record never vouches for half-written files."""
    (result_folder(data_dir, public_id) / RESULT_FILE).unlink(missing_ok=True)


def saved_result(data_dir: Path, public_id: str) -> JobResult | None:
    """The record a finished generation left on disk, if every file it names is intact."""
    path = result_folder(data_dir, public_id) / RESULT_FILE
    try:
        result = JobResult.from_json(path.read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return result if result.is_intact(data_dir) else None
