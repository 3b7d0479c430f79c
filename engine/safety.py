"""The content filter: which generated images are unsafe.

Two judges, either of which flags an image:

- the model's own safety checker, when its pipeline has one (many SD 1.x repositories ship
  `StableDiffusionSafetyChecker`). The pipeline reports its verdict per image as
  `nsfw_content_detected` and, as diffusers does, already returns a flagged image as a black tile;
  the engine keeps both the verdict and that behaviour;
- the operator's image classifier (CONTENT_CLASSIFIER), for models without a checker (SDXL, FLUX.1,
  SD3 ship none): any transformers image-classification model, a local folder or a hub id
  downloaded at start-up. It is loaded once, on the engine's device, the first time it is needed,
  and runs on a whole batch of images at once. It judges every image the checker did not already
  flag.

What a server does with a flagged image (block it, send it as a spoiler, show it only in
age-restricted channels) is the bot's business (`bot.content_policy`); the engine only says which.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import torch
from PIL import Image

from engine import helper_models
from engine.results import ContentFilterUnavailable
from engine.settings import EngineSettings

log = logging.getLogger(__name__)

# Images classified in one forward pass; a batch of 16 images at 224² is small next to the diffusion model.
CLASSIFIER_BATCH = 16
SETTING = "CONTENT_CLASSIFIER"


def checker_verdict(output: object, count: int) -> list[bool]:
    """The pipeline's own safety checker's verdict per image; all False when it has none (or ran none)."""
    verdict = getattr(output, "nsfw_content_detected", None)
    if verdict is None:
        return [False] * count
    flags = [bool(flag) for flag in verdict]
    if len(flags) != count:
        raise RuntimeError(f"the safety checker judged {len(flags)} images of {count}")
    return flags


class ImageClassifier:
    """A transformers image-classification model that scores images as unsafe; loaded on first use."""

    def __init__(
        self,
        source: str,
        unsafe_labels: Sequence[str],
        threshold: float,
        device: torch.device,
        dtype: torch.dtype,
    ) -> None:
        self.source = source
        self.threshold = threshold
        self._wanted = tuple(unsafe_labels)
        self._device = device
        self._dtype = dtype
        self._lock = threading.Lock()
        self._model = None
        self._processor = None
        self._unsafe: list[int] = []
        self._multi_label = False

    def scores(self, images: Sequence[Image.Image]) -> list[float]:
        """Each image's probability of being unsafe: the unsafe labels' softmax probabilities summed, or, for a
        multi-label model, the highest of their sigmoids."""
        self._load()
        scores: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(images), CLASSIFIER_BATCH):
                chunk = [image.convert("RGB") for image in images[start : start + CLASSIFIER_BATCH]]
                pixels = self._processor(images=chunk, return_tensors="pt")["pixel_values"]
                logits = self._model(pixel_values=pixels.to(self._device, self._dtype)).logits.float()
                if self._multi_label:
                    chunk_scores = logits.sigmoid()[:, self._unsafe].amax(dim=1)
                else:
                    chunk_scores = logits.softmax(dim=-1)[:, self._unsafe].sum(dim=1)
                scores += chunk_scores.tolist()
        return scores

    def unsafe(self, images: Sequence[Image.Image]) -> list[bool]:
        return [score >= self.threshold for score in self.scores(images)]

    def _load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            from transformers import AutoImageProcessor, AutoModelForImageClassification

            try:
                processor = _from_pretrained(AutoImageProcessor, self.source)
                model = _from_pretrained(AutoModelForImageClassification, self.source, dtype=self._dtype)
            except ContentFilterUnavailable:
                raise
            except Exception as error:  # a folder or repository that is not an image classifier
                raise ContentFilterUnavailable(
                    f"{SETTING} {self.source!r} could not be loaded as a transformers image-classification model "
                    f"({type(error).__name__}: {error}). Point {SETTING} at a folder written by `save_pretrained` of "
                    "an AutoModelForImageClassification with its image processor, or leave it empty."
                ) from error
            labels = {str(name).lower(): int(index) for index, name in model.config.id2label.items()}
            missing = [label for label in self._wanted if label.lower() not in labels]
            if missing:
                raise ContentFilterUnavailable(
                    f"CONTENT_CLASSIFIER_LABELS names {', '.join(map(repr, missing))}, which {SETTING} "
                    f"{self.source!r} does not have; its labels are: {', '.join(sorted(labels))}. "
                    "Set CONTENT_CLASSIFIER_LABELS to the ones that mean unsafe."
                )
            self._unsafe = sorted({labels[label.lower()] for label in self._wanted})
            self._multi_label = model.config.problem_type == "multi_label_classification"
            self._processor = processor
            self._model = model.to(self._device).eval()
            log.info("content classifier %r loaded on %s (unsafe: %s)", self.source, self._device, self._wanted)


def _from_pretrained(loader, source: str, **options):
    return helper_models.from_pretrained(loader, source, setting=SETTING, error=ContentFilterUnavailable, **options)


class ContentFilter:
    """Per engine: the checker's verdict, then the operator's classifier on the images it did not flag."""

    def __init__(self, classifier: ImageClassifier | None = None) -> None:
        self.classifier = classifier

    @classmethod
    def from_settings(cls, settings: EngineSettings, device: torch.device, dtype: torch.dtype) -> ContentFilter:
        if not settings.content_classifier:
            return cls()
        return cls(
            ImageClassifier(
                settings.content_classifier,
                settings.content_classifier_labels,
                settings.content_classifier_threshold,
                device,
                dtype,
            )
        )

    def flags(self, images: Sequence[Image.Image], checker: Sequence[bool]) -> list[bool]:
        flags = list(checker)
        if self.classifier is None:
            return flags
        unchecked = [position for position, flagged in enumerate(flags) if not flagged]
        if unchecked:
            verdict = self.classifier.unsafe([images[position] for position in unchecked])
            for position, unsafe in zip(unchecked, verdict, strict=True):
                flags[position] = unsafe
        return flags


def download_classifier(source: str) -> None:
    """Bring a hub classifier's files into the Hugging Face cache (start-up, `engine.prefetch`)."""
    helper_models.download(source, setting=SETTING, error=ContentFilterUnavailable)
