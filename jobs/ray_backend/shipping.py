"""What crosses the cluster as bytes: source images going out to an engine actor, finished images coming back.

A GPU machine holds no DATA_DIR and no database credentials. The bot's side reads a job's source images and
ships their bytes with the group; the actor writes them into its own scratch folder and points the request
at those copies (the stored request keeps the bot's paths). Finished images come back as bytes; the bot's
side checks each against the sha256 the engine recorded, writes them under DATA_DIR and `result.json` beside
them, and only then reports the job finished, so the queue's "files first, then one transaction" rule holds.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.messages import EngineMessage, GroupJob, JobFailed, JobSucceeded, RunGroup
from jobs.results import JobResult, forget_result, result_folder, write_result

# The request fields that name image files on the bot's machine.
SOURCE_FIELDS = ("source_image", "image_prompts")


@dataclass(frozen=True)
class ShippedFile:
    path: str
    """On the bot's machine: the source's absolute path; for a result, relative to DATA_DIR."""
    data: bytes


@dataclass(frozen=True)
class ShippedGroup:
    turn: int
    """Numbers the groups sent to one actor from 0: it runs them in this order."""
    group: RunGroup
    sources: tuple[ShippedFile, ...]


@dataclass(frozen=True)
class ShippedResult:
    public_id: str
    result: JobResult
    files: tuple[ShippedFile, ...]


@dataclass(frozen=True)
class Stamped:
    """A message from an actor, with the incarnation it was started as: an older one's late words are dropped."""

    incarnation: str
    message: EngineMessage | ShippedResult


def source_paths(parameters: dict[str, Any]) -> list[str]:
    single = [parameters["source_image"]] if parameters.get("source_image") else []
    return single + list(parameters.get("image_prompts") or ())


def ship_group(group: RunGroup, turn: int) -> ShippedGroup:
    """The group and the bytes of every source image its jobs name (read on the bot's machine). A source that is
    gone is not shipped: the engine then fails that job with the message it gives on one machine."""
    paths = sorted({path for job in group.jobs for path in source_paths(job.parameters) if Path(path).is_file()})
    return ShippedGroup(turn, group, tuple(ShippedFile(path, Path(path).read_bytes()) for path in paths))


def swap_sources(parameters: dict[str, Any], paths: dict[str, str]) -> dict[str, Any]:
    """The request with every source path found in `paths` replaced by its counterpart."""
    swapped = dict(parameters)
    if swapped.get("source_image"):
        swapped["source_image"] = paths.get(swapped["source_image"], swapped["source_image"])
    if swapped.get("image_prompts"):
        swapped["image_prompts"] = [paths.get(path, path) for path in swapped["image_prompts"]]
    return swapped


def localize(group: RunGroup, paths: dict[str, str]) -> RunGroup:
    jobs = tuple(GroupJob(job.public_id, swap_sources(job.parameters, paths)) for job in group.jobs)
    return dataclasses.replace(group, jobs=jobs)


def pack_result(public_id: str, result: JobResult, folder: Path) -> ShippedResult:
    """On the actor: the images saved under `folder` (its scratch DATA_DIR), as bytes."""
    paths = [result.grid_path, *(image.path for image in result.images)]
    return ShippedResult(
        public_id, result, tuple(ShippedFile(path.as_posix(), (folder / path).read_bytes()) for path in paths)
    )


def store_result(shipped: ShippedResult, data_dir: Path) -> JobSucceeded | JobFailed:
    """On the bot: check every image against its recorded sha256, write the files and then `result.json`."""
    expected = {image.path.as_posix(): image.sha256 for image in shipped.result.images}
    for file in shipped.files:
        if file.path in expected and hashlib.sha256(file.data).hexdigest() != expected[file.path]:
            return JobFailed(shipped.public_id, "The images were made but arrived damaged; please run it again.")
    forget_result(data_dir, shipped.public_id)
    folder = result_folder(data_dir, shipped.public_id).resolve()
    for file in shipped.files:
        target = (data_dir / file.path).resolve()
        if not target.is_relative_to(folder):  # a path from the cluster must not write outside its job's folder
            return JobFailed(shipped.public_id, "The engine sent an image path outside this job's folder.")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(file.data)
    write_result(data_dir, shipped.public_id, shipped.result)
    return JobSucceeded(shipped.public_id, shipped.result)
