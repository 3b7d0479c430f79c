"""V1–V4 under a grid and Vary (Strong)/(Subtle) under one image: a new grid of variations of that image."""

from __future__ import annotations

from bot import derive
from bot.custom_ids import VARY, button_extension
from bot.derived_jobs import FromImageButton
from engine.request import GenerationRequest
from jobs import JobKind
from jobs.results import ImageRecord


class VaryButton(FromImageButton, spec=VARY):
    kind = JobKind.VARIATION
    mode: str

    def derive(self, request: GenerationRequest, image: ImageRecord) -> GenerationRequest:
        return derive.variation(request, image, self.mode)


setup, teardown = button_extension(VaryButton)
