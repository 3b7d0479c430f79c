"""Zoom Out 2x under one image: the image shrunk into the middle of a larger canvas, the border painted anew."""

from __future__ import annotations

from bot import derive
from bot.custom_ids import ZOOM_OUT, button_extension
from bot.derived_jobs import FromImageButton
from engine.request import GenerationRequest
from jobs import JobKind
from jobs.results import ImageRecord


class ZoomOutButton(FromImageButton, spec=ZOOM_OUT):
    kind = JobKind.ZOOM

    def derive(self, request: GenerationRequest, image: ImageRecord) -> GenerationRequest:
        return derive.zoom_out(request, image)


setup, teardown = button_extension(ZoomOutButton)
