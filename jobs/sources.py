"""Images jobs start from, on disk: what members gave as images (`bot.image_prompts`), and the images of earlier
jobs that variations, upscales, zooms, pans and Vary (Region) start from (copied here at submit,
`keep_parent_image`), stored once per image under DATA_DIR/sources/ named by the hash of its PNG, and named by
absolute path by every job that starts from it. So a derived job never names its parent's folder, which
RETENTION_DAYS and 🗑️ remove: it stays reproducible for as long as its own record may be reproduced.

Which of these files a job names is written with the job, in the transaction that inserts it
(`jobs.models.JobSource`); `jobs.storage` decides which files no job needs any more, and this module removes
them. Removing a file races with a member giving the same image again for a job that is about to be
submitted, before that job's references exist. Three things close the race:

- storing an image refreshes the file's modification time even when the file is already there, and a file
  changed within GRACE of the sweep's start is never removed: a job submitted within GRACE of storing its
  image is either seen by the sweep or finds its file kept;
- a file is first moved aside, and its time read again there: a refresh just before the move is seen (the
  file goes back), and one just after it finds no file and writes a new one (the bytes are the same);
- the sweep removes files while it holds the lock every submit holds, and a submit checks there that the
  files it names are still stored (`jobs.admission.check_sources`): a job submitted after a sweep removed its
  file (someone rerolled a job the moment its owner deleted it) is refused, never admitted to fail later.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from engine.request import GenerationRequest
from jobs.results import IMAGES_FOLDER

SOURCES_FOLDER = "sources"
# Files changed more recently than this stay: far longer than the few seconds between storing an image and
# submitting its job (five downloads of at most IMAGE_FETCH_TIMEOUT each, then one insert per job).
GRACE = timedelta(hours=1)
# A file being removed is renamed to this while its modification time is read again.
ASIDE_SUFFIX = ".sweeping"
# What the bot writes there: stored images, and partial copies a crash left half-written.
STORED_SUFFIXES = (".png", ".part")


@dataclass(frozen=True)
class SweptSources:
    """What one sweep removed."""

    files: int = 0
    bytes: int = 0


def sources_folder(data_dir: Path) -> Path:
    return data_dir / SOURCES_FOLDER


def _paths(request: GenerationRequest) -> list[Path]:
    single = [request.source_image] if request.source_image else []
    return [Path(path) for path in (*single, *request.image_prompts)]


def source_names(request: GenerationRequest) -> list[str]:
    """The files in a `sources` folder that the request starts from, by name, each once (a blend may name one
    image twice). A file is recognised by its folder's name, not by DATA_DIR's path, as migration 0008 does
    (it cannot see DATA_DIR): a DATA_DIR moved elsewhere keeps its references, and a path counted wrongly only
    keeps some file longer. Jobs submitted before revision 0009 may name a job's image under DATA_DIR/images/
    instead (a variation, upscale, zoom or pan): that is not a source."""
    return list(dict.fromkeys(path.name for path in _paths(request) if path.parent.name == SOURCES_FOLDER))


def missing_sources(request: GenerationRequest, data_dir: Path) -> list[Path]:
    """The files the request names in this DATA_DIR's sources folder that are not there."""
    folder = sources_folder(data_dir).resolve()
    return [path for path in _paths(request) if path.parent == folder and not path.is_file()]


def parent_image(source_image: str | None, data_dir: Path) -> Path | None:
    """The image of an earlier job, in this DATA_DIR's images folder, that a request's `source_image` names (what
    `bot.derive` asks for), resolved; None for any other request."""
    if not source_image:
        return None
    path = Path(source_image).resolve()
    return path if path.parent.parent == (data_dir / IMAGES_FOLDER).resolve() else None


def keep_parent_image(image: Path, data_dir: Path) -> Path:
    """The copy of an earlier job's image under DATA_DIR/sources/ (its absolute path), named by the hash of its
    bytes as an image prompt is, so one image is stored once however many jobs start from it; changed now, so a
    sweep spares it (GRACE) until the job naming it is committed. A hard link where the file system allows: no
    bytes are duplicated while the parent's own file is there, and they stay when its folder goes.
    FileNotFoundError when the image is gone."""
    data = image.read_bytes()
    stored = sources_folder(data_dir).resolve() / f"{hashlib.sha256(data).hexdigest()}.png"
    try:
        os.utime(stored)  # already kept (for another job, or as an image prompt): marked as needed now
    except FileNotFoundError:
        _link_or_write(image, stored, data)
    return stored


def _link_or_write(image: Path, stored: Path, data: bytes) -> None:
    """Each attempt through a partial file of its own, so two submits storing one image never share one. Nothing
    ever writes into a stored file (the bot replaces, renames or removes them), so a link never changes the
    parent's image."""
    stored.parent.mkdir(parents=True, exist_ok=True)
    linked = _partial(stored)
    try:
        os.link(image, linked)
        os.utime(linked)  # the link shares the parent's time, which may be long past: a sweep would take it
        linked.replace(stored)
        return
    except OSError:  # no hard links on this file system, the parent's file just went, or a sweep took the link
        linked.unlink(missing_ok=True)  # a link left here must never be written through: a new name below
    written = _partial(stored)
    written.write_bytes(data)
    written.replace(stored)


def _partial(stored: Path) -> Path:
    return stored.with_name(f"{stored.stem}-{uuid.uuid4().hex[:8]}.part")


def stale_files(folder: Path, cutoff: float, names: Iterable[str] | None = None) -> list[Path]:
    """The bot's files in `folder` (only those `names`, when given) last changed before `cutoff`, a POSIX time."""
    chosen = [folder / name for name in names if _stored(folder / name)] if names is not None else _listed(folder)
    return [path for path in chosen if (changed := _changed(path)) is not None and changed < cutoff]


def _stored(path: Path) -> bool:
    """Named as the bot names what it writes (never `..` or a folder, whatever a request said)."""
    return path.name.endswith(STORED_SUFFIXES) and path.is_file()


def _listed(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    with os.scandir(folder) as entries:
        return [Path(entry.path) for entry in entries if _stored(Path(entry.path))]


def _changed(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def restore_set_aside(folder: Path) -> None:
    """Put back the files a sweep moved aside and then neither removed nor restored (it died in between); only
    called under the submit lock, which every sweep holds while it has files aside."""
    if folder.is_dir():
        for aside in folder.glob(f"*{ASIDE_SUFFIX}"):
            aside.replace(aside.with_name(aside.name.removesuffix(ASIDE_SUFFIX)))


def remove_if_stale(path: Path, cutoff: float) -> int | None:
    """Remove the file unless it changed at or after `cutoff`: the bytes removed, None when nothing was."""
    aside = path.with_name(path.name + ASIDE_SUFFIX)
    try:
        path.rename(aside)
    except FileNotFoundError:  # gone since it was listed: another process's sweep took it
        return None
    status = aside.stat()
    if status.st_mtime >= cutoff:  # stored again since it was listed: a job is about to name it
        aside.replace(path)  # over any copy written since: the same bytes, since the name is their hash
        return None
    aside.unlink()
    return status.st_size
