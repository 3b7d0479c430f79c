"""⬅️ ➡️ ⬆️ ⬇️ under one image: extend it in one direction."""

from __future__ import annotations

from bot import derive
from bot.custom_ids import PAN, button_extension
from bot.derived_jobs import FromImageButton
from engine.request import Direction, GenerationRequest
from jobs import JobKind
from jobs.results import ImageRecord


class PanButton(FromImageButton, spec=PAN):
    kind = JobKind.PAN
    direction: Direction

    def derive(self, request: GenerationRequest, image: ImageRecord) -> GenerationRequest:
        return derive.pan(request, image, self.direction)


setup, teardown = button_extension(PanButton)
