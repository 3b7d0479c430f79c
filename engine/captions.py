"""/describe's prompt suggestions: the operator's image-to-text model (CAPTION_MODEL) writes them.

Any transformers model that `AutoModelForImageTextToText` loads and that captions an image from pixels alone
(BLIP, GIT, a ViT + GPT-2 `VisionEncoderDecoderModel`), with its image processor and tokenizer beside it: a
local folder, or a hub id downloaded at start-up (`engine.prefetch`). Nothing a member types chooses what is
loaded. It is loaded once, on the engine's device, the first time a /describe runs.

The suggestions are sampled with the job's seed, so a job reproduces its suggestions on the same hardware and
software, and 🔄 (a new seed) gives new ones. Sampling may repeat itself, so twice as many are drawn and the
first distinct ones kept; beam search, which never repeats a sequence, tops them up if needed.
"""

from __future__ import annotations

import logging
import threading

import torch
from PIL import Image

from engine import helper_models
from engine.results import CaptionerUnavailable

log = logging.getLogger(__name__)

SETTING = "CAPTION_MODEL"
# Long enough for a Midjourney-style prompt, short enough to stay a prompt (and fast on a CPU).
MAX_NEW_TOKENS = 40
# A one-word suggestion is no prompt; the model must say at least this much.
MIN_NEW_TOKENS = 3
TOP_P = 0.9
# Sequences sampled per suggestion wanted, so that repeats can be dropped.
OVERSAMPLE = 2


class Captioner:
    """Given the model's source (folder or hub id), the engine's device and dtype."""

    def __init__(self, source: str, device: torch.device, dtype: torch.dtype) -> None:
        self.source = source
        self._device = device
        self._dtype = dtype
        self._lock = threading.Lock()
        self._model = None
        self._processor = None
        self._tokenizer = None

    def suggestions(self, image: Image.Image, count: int, seed: int) -> tuple[str, ...]:
        """Up to `count` distinct, non-empty captions of `image`, the same for the same seed."""
        self._load()
        pixels = self._processor(images=[image.convert("RGB")], return_tensors="pt")["pixel_values"]
        options = {
            "pixel_values": pixels.to(self._device, self._dtype),
            "max_new_tokens": MAX_NEW_TOKENS,
            "min_new_tokens": MIN_NEW_TOKENS,
        }
        with self._lock, torch.inference_mode(), torch.random.fork_rng(devices=self._rng_devices()):
            torch.manual_seed(seed)
            sampled = self._model.generate(
                **options, do_sample=True, top_p=TOP_P, num_return_sequences=count * OVERSAMPLE
            )
            found = _distinct(self._decode(sampled), count)
            if len(found) < count:
                beams = self._model.generate(**options, num_beams=count, num_return_sequences=count)
                found = _distinct(found + self._decode(beams), count)
        return tuple(found)

    def _rng_devices(self) -> list[int]:
        # Sampling draws from the device's generator: that one is seeded and restored, not the CUDA default's.
        return [self._device.index or 0] if self._device.type == "cuda" else []

    def _decode(self, sequences: torch.Tensor) -> list[str]:
        return [" ".join(text.split()) for text in self._tokenizer.batch_decode(sequences, skip_special_tokens=True)]

    def _load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            from transformers import AutoImageProcessor, AutoModelForImageTextToText, AutoTokenizer

            load = {"setting": SETTING, "error": CaptionerUnavailable}
            try:
                processor = helper_models.from_pretrained(AutoImageProcessor, self.source, **load)
                tokenizer = helper_models.from_pretrained(AutoTokenizer, self.source, **load)
                model = helper_models.from_pretrained(
                    AutoModelForImageTextToText, self.source, dtype=self._dtype, **load
                )
            except CaptionerUnavailable:
                raise
            except Exception as error:  # a folder or repository that is not an image-to-text model
                raise CaptionerUnavailable(
                    f"{SETTING} {self.source!r} could not be loaded as a transformers image-to-text model "
                    f"({type(error).__name__}: {error}). Point {SETTING} at a folder written by `save_pretrained` of "
                    "a captioning model (e.g. Salesforce/blip-image-captioning-base) with its image processor and "
                    "tokenizer, or leave it empty."
                ) from error
            self._processor, self._tokenizer = processor, tokenizer
            self._model = model.to(self._device).eval()
            log.info("captioner %r loaded on %s", self.source, self._device)


def _distinct(texts: list[str], count: int) -> list[str]:
    """The first `count` different non-empty texts, in order; case and spacing do not make a text different."""
    kept: dict[str, str] = {}
    for text in texts:
        key = text.casefold()
        if text and key not in kept:
            kept[key] = text
    return list(kept.values())[:count]


def download_captioner(source: str) -> None:
    """Bring a hub captioner's files into the Hugging Face cache (start-up, `engine.prefetch`)."""
    helper_models.download(source, setting=SETTING, error=CaptionerUnavailable)
