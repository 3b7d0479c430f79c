"""U1–U4 under a grid: take one image out of it, at once, from the stored tile (no GPU work).

The custom_id action is `upscale`, Midjourney's historical name for these buttons; enlarging an image
is the Upscale button (`bot.exts.imagine.upscale`).
"""

from __future__ import annotations

import discord

from bot.client import ImagineBot
from bot.custom_ids import SEPARATE, PersistentButton, button_extension
from bot.errors import UserFacingError, guarded, public_answer
from bot.job_lookup import check_images_kept, find_image
from bot.layouts import image_view
from bot.public_messages import image_content
from bot.uploads import UnreadableImage, UploadTooLarge
from engine.budgets import upscale_refusal


class SeparateImageButton(PersistentButton, spec=SEPARATE):
    job: str
    index: int

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        bot = interaction.client
        async with public_answer(interaction):
            job = await bot.rules.job_for(interaction, self.job, posting=True)
            check_images_kept(job)
            image = find_image(job, self.index)
            try:  # reading and maybe re-encoding the tile happens on the encoder's threads
                upload = await bot.delivery.tile(job, image, interaction)  # and the server's content policy
            except (UploadTooLarge, UnreadableImage) as error:
                raise UserFacingError(f"Image #{self.index} can't be sent here: {error}.") from error
            can_upscale = upscale_refusal(image.width, image.height, bot.limits.upscale_budget) is None
            await interaction.followup.send(
                image_content(job.request, interaction.user.id, self.index),
                file=upload.to_file(),
                view=image_view(
                    self.job,
                    self.index,
                    interaction.user.id,
                    can_upscale=can_upscale,
                    square=image.width == image.height,
                ),
            )


setup, teardown = button_extension(SeparateImageButton)
