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


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from engine import ip_adapter
    from engine.captions import download_captioner
    from engine.loading import download
    from engine.results import CaptionerUnavailable, ContentFilterUnavailable, ModelNotFoundError
    from engine.safety import download_classifier

    settings = EngineSettings()
    failed = 0
    for name, source, revision in hub_sources(settings):
        log.info("making sure model %r (%s%s) is downloaded", name, source, f"@{revision}" if revision else "")
        try:
            download(source, revision)
        except ModelNotFoundError as error:
            print(f"model {name!r}: {error}", file=sys.stderr)
            failed += 1
    for name, spec in hub_ip_adapters(settings):
        log.info("making sure the IP-Adapter of model %r (%s) is downloaded", name, spec)
        try:
            ip_adapter.download(spec)
        except ModelNotFoundError as error:
            print(f"IP-Adapter of model {name!r}: {error}", file=sys.stderr)
            failed += 1
    classifier = hub_classifier(settings)
    if classifier:
        log.info("making sure the content classifier (%s) is downloaded", classifier)
        try:
            download_classifier(classifier)
        except ContentFilterUnavailable as error:
            print(f"content classifier: {error}", file=sys.stderr)
            failed += 1
    captioner = hub_captioner(settings)
    if captioner:
        log.info("making sure the captioner (%s) is downloaded", captioner)
        try:
            download_captioner(captioner)
        except CaptionerUnavailable as error:
            print(f"captioner: {error}", file=sys.stderr)
            failed += 1
    return EXIT_DOWNLOAD_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
