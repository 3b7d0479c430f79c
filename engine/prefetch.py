"""`python -m engine.prefetch`: download every registered hub model (MODEL_ID, MODELS, UPSCALER_MODEL), the
models' hub IP-Adapters, the content classifier (CONTENT_CLASSIFIER) and the captioner (CAPTION_MODEL) into the
Hugging Face cache, before the bot takes its first job.

The queue runs this at start-up, before it reports ready, so no member's job ever waits on a download
or starts one: engine processes then run with the hub offline. Progress goes to the console (the
bot's log). Exit status 0 when every model is in the cache, 3 (with one line per model that failed)
otherwise. It imports diffusers, so the bot's process runs it as a child process.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from engine.registry import looks_like_path
from engine.settings import EngineSettings
from engine.sources import is_local_file

log = logging.getLogger("engine.prefetch")
EXIT_DOWNLOAD_FAILED = 3


def hub_sources(settings: EngineSettings) -> list[tuple[str, str, str | None]]:
    """(name, hub id, revision) of every registered model that comes from the hub."""
    sources = [(entry.name, entry.source, entry.revision) for entry in settings.registry().entries if entry.from_hub]
    if settings.upscaler_model and not looks_like_path(settings.upscaler_model):
        sources.append(("upscaler", settings.upscaler_model, None))
    return sources


def hub_ip_adapters(settings: EngineSettings) -> list[tuple[str, str]]:
    """(model name, hub file) of every registered IP-Adapter that comes from the hub."""
    adapters = [(entry.name, entry.ip_adapter) for entry in settings.registry().entries if entry.ip_adapter]
    return [(name, spec) for name, spec in adapters if not is_local_file(spec)]


def hub_classifier(settings: EngineSettings) -> str | None:
    """The content classifier's hub id, when CONTENT_CLASSIFIER names one (not a local folder)."""
    source = settings.content_classifier
    return source if source and not looks_like_path(source) else None


def hub_captioner(settings: EngineSettings) -> str | None:
    """The captioner's hub id, when CAPTION_MODEL names one (not a local folder)."""
    source = settings.caption_model
    return source if source and not looks_like_path(source) else None


def needs_prefetch(settings: EngineSettings) -> bool:
    """Whether anything the operator configured comes from the hub (else start-up skips this step)."""
    return bool(
        hub_sources(settings) or hub_ip_adapters(settings) or hub_classifier(settings) or hub_captioner(settings)
    )


@dataclass(frozen=True)
class Download:
    what: str  # "model 'sdxl'", for the log and the failure line
    source: str
    fetch: Callable[[], object]


def downloads(settings: EngineSettings) -> list[Download]:
    """Every hub download the operator's settings call for, in the order the log shows them."""
    from engine import ip_adapter
    from engine.captions import download_captioner
    from engine.loading import download
    from engine.safety import download_classifier

    planned = [
        Download(f"model {name!r}", f"{source}@{revision}" if revision else source, partial(download, source, revision))
        for name, source, revision in hub_sources(settings)
    ]
    planned += [
        Download(f"IP-Adapter of model {name!r}", spec, partial(ip_adapter.download, spec))
        for name, spec in hub_ip_adapters(settings)
    ]
    if classifier := hub_classifier(settings):
        planned.append(Download("content classifier", classifier, partial(download_classifier, classifier)))
    if captioner := hub_captioner(settings):
        planned.append(Download("captioner", captioner, partial(download_captioner, captioner)))
    return planned


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from engine.results import ContentFilterUnavailable, ModelNotFoundError

    failed = 0
    for planned in downloads(EngineSettings()):
        log.info("making sure the %s (%s) is downloaded", planned.what, planned.source)
        try:
            planned.fetch()
        except (ModelNotFoundError, ContentFilterUnavailable) as error:  # a captioner's failure is a ModelNotFound
            print(f"{planned.what}: {error}", file=sys.stderr)
            failed += 1
    return EXIT_DOWNLOAD_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
