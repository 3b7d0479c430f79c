"""Zooming out under one image, as on Midjourney: Zoom Out 2x and 1.5x, Custom Zoom (a form: the prompt, --ar
for the new canvas, --zoom from 1 to 2) and Make Square (on images that are not square). The image is
shrunk into a larger canvas and the border painted anew, within the pixel budget."""

from __future__ import annotations

import discord

from bot import derive
from bot.client import ImagineBot
from bot.custom_ids import CUSTOM_ZOOM, MAKE_SQUARE, ZOOM_OUT, ZOOM_OUT_LESS, PersistentButton, button_extension
from bot.derived_jobs import FromImageButton, open_form
from bot.errors import guarded
from bot.remix import remix_text, split_zoom
from engine.request import GenerationRequest
from jobs import JobKind
from jobs.results import ImageRecord

CUSTOM_ZOOM_START = 2.0


class ZoomOutButton(FromImageButton, spec=ZOOM_OUT):
    kind = JobKind.ZOOM

    def derive(self, request: GenerationRequest, image: ImageRecord) -> GenerationRequest:
        return derive.zoom_out(request, image)


class ZoomOutLessButton(FromImageButton, spec=ZOOM_OUT_LESS):
    kind = JobKind.ZOOM

    def derive(self, request: GenerationRequest, image: ImageRecord) -> GenerationRequest:
        return derive.zoom_out(request, image, 1.5)


class MakeSquareButton(FromImageButton, spec=MAKE_SQUARE):
    kind = JobKind.ZOOM

    def derive(self, request: GenerationRequest, image: ImageRecord) -> GenerationRequest:
        return derive.zoom_out(request, image, 1.0, (1, 1))


class CustomZoomButton(PersistentButton, spec=CUSTOM_ZOOM):
    """Always a form, pre-filled with the prompt, its flags and `--zoom 2`; the --ar written there is the
    shape of the new canvas."""

    job: str
    index: int

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await open_form(
            interaction,
            self.job,
            "Custom Zoom",
            self._submit,
            text=lambda request: f"{remix_text(request)} --zoom {CUSTOM_ZOOM_START:g}",
        )

    async def _submit(self, interaction: discord.Interaction[ImagineBot], text: str) -> None:
        prompt, factor = split_zoom(text)

        def zoomed(request: GenerationRequest, image: ImageRecord) -> GenerationRequest:
            return derive.zoom_out(request, image, factor, request.aspect)

        await interaction.client.launcher.launch_from_image(
            interaction, self.job, self.index, kind=JobKind.ZOOM, derive=zoomed, text=prompt
        )


setup, teardown = button_extension(ZoomOutButton, ZoomOutLessButton, MakeSquareButton, CustomZoomButton)
