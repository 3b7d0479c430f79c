"""The operator's transformers helper models beside the diffusion models: the content classifier
(CONTENT_CLASSIFIER, `engine.safety`) and the captioner (CAPTION_MODEL, `engine.captions`).

Each is a local folder, used as it is, or a Hugging Face hub id that `engine.prefetch` downloads at start-up;
engine processes then load it from the cache with the hub offline. Each failure names the setting and the fix,
as the error type its caller gives.
"""

from __future__ import annotations

import os

from engine.sources import looks_like_path

OFFLINE_VALUES = {"1", "true", "yes", "on"}


def from_pretrained(loader, source: str, *, setting: str, error: type[Exception], **options):
    """The local cache (or folder) first; the hub only when this process may reach it. Engine processes run
    with HF_HUB_OFFLINE set, after the bot downloaded the model at start-up."""
    if looks_like_path(source):
        return loader.from_pretrained(os.path.expanduser(source), **options)
    try:
        return loader.from_pretrained(source, local_files_only=True, **options)
    except (OSError, ValueError):
        if os.environ.get("HF_HUB_OFFLINE", "").lower() in OFFLINE_VALUES:
            raise error(
                f"{setting} {source!r} is not in the Hugging Face cache and this process runs with the hub offline "
                "(engine processes always do). The bot downloads it at start-up: check the start-up log for why that "
                f"failed, or set {setting} to a local folder."
            ) from None
    try:
        return loader.from_pretrained(source, **options)
    except Exception as cause:  # the hub client raises many unrelated error types for one cause
        raise error(
            f"{setting} {source!r} could not be downloaded from the Hugging Face hub ({type(cause).__name__}: "
            f"{cause}). Check the id, or set {setting} to a local folder."
        ) from cause


def download(source: str, *, setting: str, error: type[Exception]) -> None:
    """Bring a hub model's files into the Hugging Face cache (start-up, `engine.prefetch`)."""
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(source, allow_patterns=["*.json", "*.safetensors", "*.bin", "*.txt", "*.model"])
    except Exception as cause:  # the hub client raises many unrelated error types for one cause
        raise error(
            f"{setting} {source!r} could not be downloaded from the Hugging Face hub ({type(cause).__name__}: "
            f"{cause}). Check the network and the id, or set {setting} to a local folder."
        ) from cause
