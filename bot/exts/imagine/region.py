"""Vary (Region) under one image: choose cells of a 3×3 grid over the image (several may be chosen), edit the
prompt if you like, and those cells are repainted with the inpainting pipeline (the mask feathered at its
edges) while the rest keeps its pixels; four results, as on Midjourney."""

from __future__ import annotations

import discord

from bot import derive
from bot.client import ImagineBot
from bot.custom_ids import VARY_REGION, PersistentButton, button_extension
from bot.derive import cell_name
from bot.errors import UserFacingError, guarded, report
from bot.remix import FORM_TIMEOUT, MAX_REMIX_TEXT, remix_text
from engine.request import REGION_CELLS, GenerationRequest
from jobs import JobKind
from jobs.results import ImageRecord


class RegionForm(discord.ui.Modal):
    def __init__(self, button: VaryRegionButton, text: str) -> None:
        super().__init__(title="Vary (Region)", timeout=FORM_TIMEOUT)
        self._button = button
        self.cells = discord.ui.Select(
            placeholder="The parts to repaint",
            min_values=1,
            max_values=REGION_CELLS,
            options=[discord.SelectOption(label=cell_name(cell), value=str(cell)) for cell in range(REGION_CELLS)],
        )
        self.prompt = discord.ui.TextInput(
            style=discord.TextStyle.paragraph, default=text[:MAX_REMIX_TEXT], max_length=MAX_REMIX_TEXT
        )
        self.add_item(discord.ui.Label(text="Repaint", description="Cells of a 3×3 grid", component=self.cells))
        self.add_item(discord.ui.Label(text="Prompt and flags", component=self.prompt))

    async def on_submit(self, interaction: discord.Interaction[ImagineBot]) -> None:
        try:
            cells = tuple(sorted({int(value) for value in self.cells.values}))
        except ValueError:
            raise UserFacingError("Choose cells from the list.") from None
        if not cells or not all(0 <= cell < REGION_CELLS for cell in cells):
            raise UserFacingError("Choose cells from the list.")

        def repaint(request: GenerationRequest, image: ImageRecord) -> GenerationRequest:
            return derive.vary_region(request, image, cells)

        button = self._button
        await interaction.client.launcher.launch_from_image(
            interaction, button.job, button.index, kind=JobKind.REGION, derive=repaint, text=self.prompt.value
        )

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await report(interaction, error)


class VaryRegionButton(PersistentButton, spec=VARY_REGION):
    job: str
    index: int

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        job = await interaction.client.rules.job_for(interaction, self.job, posting=True)
        await interaction.response.send_modal(RegionForm(self, remix_text(job.request)))


setup, teardown = button_extension(VaryRegionButton)
