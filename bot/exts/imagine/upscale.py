"""Upscale (Subtle)/(Creative) under one image: enlarge it on the GPU (U1–U4 only take an image out of the
grid; see `bot.exts.images.separate`). Its custom_id action is `enlarge`."""

from __future__ import annotations

from bot import derive
from bot.custom_ids import ENLARGE, button_extension
from bot.derived_jobs import FromImageButton
from engine.request import GenerationRequest
from jobs import JobKind
from jobs.results import ImageRecord


class UpscaleButton(FromImageButton, spec=ENLARGE):
    kind = JobKind.UPSCALE
    remixable = False
    mode: str

    def derive(self, request: GenerationRequest, image: ImageRecord) -> GenerationRequest:
        return derive.upscale(request, image, self.mode)


setup, teardown = button_extension(UpscaleButton)
