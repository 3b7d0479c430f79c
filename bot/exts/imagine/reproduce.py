"""/reproduce job:<id> [image:<n>] — make a stored job (or one of its images) again, pixel for pixel."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import derive
from bot.client import ImagineBot
from bot.errors import UserFacingError
from bot.job_lookup import find_image
from jobs import JobKind


class Reproduce(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Make a past job again from its stored record (same seed, same pixels)")
    @app_commands.describe(job="The job id, as shown by /history or the ℹ️ button", image="Only this image (1-4)")
    async def reproduce(
        self, interaction: discord.Interaction, job: str, image: app_commands.Range[int, 1, 16] | None = None
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        stored = await self.bot.rules.job_for(interaction, job, posting=True)
        if stored.suggestions:  # the same seed writes the same suggestions: nothing new to make
            raise UserFacingError(
                f"Job `{stored.public_id}` is a /describe: `/show job:{stored.public_id}` posts its suggestions again, "
                "and its 🔄 writes new ones."
            )
        if not stored.images:
            raise UserFacingError(f"Job `{stored.public_id}` has not finished, so there is nothing to reproduce yet.")
        picked = find_image(stored, image) if image is not None else None
        await self.bot.launcher.launch(
            interaction,
            derive.reproduce(stored.request, picked),
            kind=JobKind.REPRODUCE,
            raw_prompt=stored.raw_prompt,
            parent=stored,
            parent_index=image,
        )


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Reproduce(bot))
