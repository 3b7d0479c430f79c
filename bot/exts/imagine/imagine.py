"""/imagine prompt:<text> [image:<file>] — a grid of four images, delivered into a channel message.

Image prompts, as on Midjourney: an attached image, or image URLs at the start of the prompt, become the
starting point (several are blended); `--iw` says how much they weigh. Permutations (`a {red, blue} fox`) and
`--repeat N` make several jobs, at most MAX_JOBS_PER_PROMPT. Every text is read (and refused with the flag's own
message, or for a banned word an option would spell) before any image is downloaded or any job is queued.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import ImagineBot
from bot.errors import UserFacingError
from bot.image_prompts import leading_urls
from engine.flags import PromptDefaults, parse_prompt
from engine.permutations import expand_prompt
from engine.request import MAX_IMAGE_PROMPTS, GenerationRequest
from jobs import JobKind

MAX_PROMPT = 1500


def with_images(request: GenerationRequest, paths: list[str]) -> GenerationRequest:
    return GenerationRequest.model_validate({**request.model_dump(), "image_prompts": tuple(paths)})


class Imagine(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Make four images from a prompt, e.g. a red fox in snow --ar 3:2")
    @app_commands.describe(
        prompt="What to draw, then optional flags such as --ar 3:2 --no trees --seed 7; image URLs may come first",
        image="An image to start from (PNG, JPEG, WebP or GIF); --iw 0-3 says how much it weighs",
    )
    async def imagine(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, MAX_PROMPT],
        image: discord.Attachment | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.bot.rules.check_allowed(interaction, prompt)
        urls, text = leading_urls(prompt, MAX_IMAGE_PROMPTS)
        if len(urls) + (image is not None) > MAX_IMAGE_PROMPTS:
            raise UserFacingError(f"A prompt can start from at most {MAX_IMAGE_PROMPTS} images.")
        texts = expand_prompt(text, max_jobs=self.bot.settings.max_jobs_per_prompt)
        for expanded in texts:  # `ba{d,}word` spells a banned word only once expanded
            await self.bot.rules.check_allowed(interaction, expanded)
        settings = await self.bot.member_settings.get(interaction.user.id)
        defaults = PromptDefaults.model_validate(settings.defaults)
        requests = [parse_prompt(expanded, defaults, models=self.bot.models) for expanded in texts]
        images = self.bot.image_prompts
        paths = [await images.from_attachment(image)] if image is not None else []
        paths += [await images.from_url(url, member=interaction.user.id) for url in urls]
        if paths:
            requests = [with_images(request, paths) for request in requests]
        if len(requests) == 1:
            await self.bot.launcher.launch(interaction, requests[0], kind=JobKind.IMAGINE, raw_prompt=prompt)
            return
        raw_prompts = [" ".join([*urls, expanded]) for expanded in texts]
        await self.bot.launcher.launch_each(
            interaction, requests, raw_prompts, kind=JobKind.IMAGINE, source="this prompt"
        )

    @app_commands.command(description="Blend 2 to 5 images into four new ones")
    @app_commands.describe(
        image1="The first image",
        image2="The second image",
        image3="Another image (optional)",
        image4="Another image (optional)",
        image5="Another image (optional)",
        prompt="Words and flags to steer the blend (optional)",
        shape="The images' shape",
    )
    @app_commands.choices(
        shape=[
            app_commands.Choice(name="Square (1:1)", value="1:1"),
            app_commands.Choice(name="Portrait (2:3)", value="2:3"),
            app_commands.Choice(name="Landscape (3:2)", value="3:2"),
        ]
    )
    async def blend(
        self,
        interaction: discord.Interaction,
        image1: discord.Attachment,
        image2: discord.Attachment,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        prompt: app_commands.Range[str, 1, MAX_PROMPT] | None = None,
        shape: str = "1:1",
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = f"{prompt or BLEND_PROMPT} --ar {shape}"
        await self.bot.rules.check_allowed(interaction, text)
        settings = await self.bot.member_settings.get(interaction.user.id)
        request = parse_prompt(text, PromptDefaults.model_validate(settings.defaults), models=self.bot.models)
        given = [attachment for attachment in (image1, image2, image3, image4, image5) if attachment is not None]
        paths = [await self.bot.image_prompts.from_attachment(attachment) for attachment in given]
        await self.bot.launcher.launch(interaction, with_images(request, paths), kind=JobKind.BLEND, raw_prompt=text)


# What a blend without words asks of the text encoder: nothing in particular, so the images lead.
BLEND_PROMPT = "a blend of these images"


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Imagine(bot))
