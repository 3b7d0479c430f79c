"""📩 under one image: the image and its full record, sent to whoever pressed it, by direct message (as
Midjourney's ✉️ does)."""

from __future__ import annotations

import discord

from bot.client import ImagineBot
from bot.custom_ids import SEND_TO_DM, PersistentButton, button_extension
from bot.errors import UserFacingError, guarded
from bot.job_lookup import check_images_kept, find_image
from bot.private_replies import details_content
from bot.uploads import UnreadableImage, UploadTooLarge


class SendToDmButton(PersistentButton, spec=SEND_TO_DM):
    job: str
    index: int

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        bot = interaction.client
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await bot.rules.job_for(interaction, self.job, posting=False)
        check_images_kept(job)
        image = find_image(job, self.index)
        try:
            upload = await bot.encoder.fit_file(
                image.path, f"{self.job}-{self.index}", bot.settings.channel_upload_limit
            )
        except (UploadTooLarge, UnreadableImage) as error:
            raise UserFacingError(f"Image #{self.index} can't be sent: {error}.") from error
        try:
            await interaction.user.send(details_content(job, image), file=upload.to_file())
        except discord.Forbidden as error:
            raise UserFacingError(
                "I can't send you direct messages: allow messages from server members in your privacy settings "
                "for this server, then press 📩 again."
            ) from error
        await interaction.followup.send(f"Sent image #{self.index} of job `{self.job}` to your DMs.", ephemeral=True)


setup, teardown = button_extension(SendToDmButton)
