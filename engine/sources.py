"""Names and sources shared by the model and LoRA registries. Pure Python."""

from __future__ import annotations

import re
from pathlib import Path

DEFAULT_MODEL = "default"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
CHECKPOINT_SUFFIXES = (".safetensors", ".ckpt")


def looks_like_path(source: str) -> bool:
    """A local folder or file rather than a Hugging Face hub id (`owner/name`)."""
    return (
        source.startswith((".", "/", "~"))
        or source.endswith(CHECKPOINT_SUFFIXES)
        or source.count("/") > 1
        or Path(source).expanduser().exists()
    )


def is_local_file(spec: str) -> bool:
    """A file named by a local path (`/`, `./` or `~` first) rather than `owner/repo/path/in/repo` on the hub."""
    return spec.startswith(("/", ".", "~"))
