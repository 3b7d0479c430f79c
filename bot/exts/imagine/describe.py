"""/describe image:<file> or link:<address> — four prompt suggestions for an image, as on Midjourney, written by
the operator's captioning model (CAPTION_MODEL) and ending with the image's `--ar`; under them 1️⃣–4️⃣ /imagine one
suggestion, 🔄 describes the image again and Imagine all /imagines every suggestion.

The image is fetched and stored as /imagine's image prompts are (`bot.image_prompts`) and the job walks the queue
like any other; its message shows the suggestions once the engine has written them. A button names a suggestion
by its number only: the text is read from the stored job, and checked as a typed prompt would be. Imagine all
checks every suggestion before queueing any, and counts against MAX_JOBS_PER_PROMPT and the caps as a
permutation /imagine does.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import derive
from bot.client import ImagineBot
from bot.custom_ids import DESCRIBE_AGAIN, IMAGINE_ALL, SUGGESTION, PersistentButton
from bot.errors import UserFacingError, guarded
from engine.flags import PromptDefaults, parse_prompt
from engine.request import DESCRIBE_SUGGESTIONS, GenerationRequest, Operation
from jobs import JobKind
from jobs.views import JobView

# Longer than any address worth fetching, short enough to quote in a refusal.
MAX_LINK = 1000
NOT_TURNED_ON = (
    "/describe is not turned on for this bot: it needs a captioning model. Its operator can turn it on by setting "
    "CAPTION_MODEL (for example to Salesforce/blip-image-captioning-base) and restarting the bot."
)


def check_turned_on(bot: ImagineBot) -> None:
    if not bot.limits.caption_model:
        raise UserFacingError(NOT_TURNED_ON)


def describe_request(path: str) -> GenerationRequest:
    return GenerationRequest(operation=Operation.DESCRIBE, prompt="", source_image=path, count=DESCRIBE_SUGGESTIONS)


def suggestions_of(job: JobView) -> tuple[str, ...]:
    """The suggestions of a finished /describe, or a refusal that says why there are none."""
    if job.request.operation is not Operation.DESCRIBE:
        raise UserFacingError(f"Job `{job.public_id}` is not a /describe, so it has no prompt suggestions.")
    if not job.suggestions and job.is_finished:
        raise UserFacingError(f"Job `{job.public_id}` ended ({job.status}) without suggestions: press 🔄 to try again.")
    if not job.suggestions:
        raise UserFacingError(f"Job `{job.public_id}` has no suggestions yet: wait for it to finish.")
    return job.suggestions


def suggestion(job: JobView, index: int) -> str:
    """Suggestion `index` (1-based, as on its button) of a finished /describe, or a refusal that says what exists."""
    suggestions = suggestions_of(job)
    if not 1 <= index <= len(suggestions):
        raise UserFacingError(
            f"Job `{job.public_id}` has suggestions 1 to {len(suggestions)}; there is no suggestion {index}."
        )
    return suggestions[index - 1]


def check_bound(count: int, max_jobs: int) -> None:
    """Imagine all starts one job per suggestion: no more than one /imagine may (MAX_JOBS_PER_PROMPT)."""
    if count > max_jobs:
        raise UserFacingError(
            f"Imagine all would start {count} jobs, more than the {max_jobs} one /imagine may start on this bot; "
            "press the numbers one at a time instead."
        )


async def imagined(
    interaction: discord.Interaction[ImagineBot], job: JobView, texts: tuple[str, ...]
) -> list[GenerationRequest]:
    """The /imagine requests for suggestions of `job`, read as typed prompts are: the server's banned words, then
    the presser's defaults (a suggestion's own --ar wins over theirs). All are read before any job is queued."""
    bot = interaction.client
    for text in texts:
        await bot.rules.check_allowed(interaction, text, home=job.guild_id)
    defaults = PromptDefaults.model_validate((await bot.member_settings.get(interaction.user.id)).defaults)
    return [parse_prompt(text, defaults, models=bot.models) for text in texts]


def described_again(request: GenerationRequest) -> GenerationRequest:
    """🔄: the same image with a new seed, so new suggestions."""
    if request.operation is not Operation.DESCRIBE:
        raise UserFacingError("🔄 under suggestions describes a /describe's image again; this job is not a /describe.")
    return derive.reroll(request)


class Describe(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Four prompt suggestions for an image")
    @app_commands.describe(
        image="The image to describe (PNG, JPEG, WebP or GIF)",
        link="Or the address of an image on the web",
    )
    async def describe(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment | None = None,
        link: app_commands.Range[str, 1, MAX_LINK] | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        check_turned_on(self.bot)
        if (image is None) == (link is None):
            raise UserFacingError("Give /describe one image: attach it (image) or paste its address (link).")
        await self.bot.rules.check_allowed(interaction, link or "")
        images = self.bot.image_prompts
        if image is not None:
            path = await images.from_attachment(image)
        else:
            path = await images.from_url(link, member=interaction.user.id)
        shown = image.filename if image is not None else link
        request = describe_request(path)
        await self.bot.launcher.launch(interaction, request, kind=JobKind.DESCRIBE, raw_prompt=f"/describe {shown}")


class SuggestionButton(PersistentButton, spec=SUGGESTION):
    """1️⃣–4️⃣: /imagine that suggestion, as the presser's job, with the presser's defaults."""

    job: str
    index: int

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = interaction.client
        job = await bot.rules.job_for(interaction, self.job, posting=True)
        text = suggestion(job, self.index)
        [request] = await imagined(interaction, job, (text,))
        await bot.launcher.launch(interaction, request, kind=JobKind.IMAGINE, raw_prompt=text, parent=job)


class ImagineAllButton(PersistentButton, spec=IMAGINE_ALL):
    """Imagine all: every suggestion, each its own job of the presser's, checked as 1️⃣–4️⃣ check one."""

    job: str

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = interaction.client
        job = await bot.rules.job_for(interaction, self.job, posting=True)
        texts = suggestions_of(job)
        check_bound(len(texts), bot.settings.max_jobs_per_prompt)
        requests = await imagined(interaction, job, texts)
        await bot.launcher.launch_each(
            interaction, requests, texts, kind=JobKind.IMAGINE, source="Imagine all", parent=job
        )


class DescribeAgainButton(PersistentButton, spec=DESCRIBE_AGAIN):
    """🔄: new suggestions for the same image, as the presser's job."""

    job: str

    @guarded
    async def callback(self, interaction: discord.Interaction[ImagineBot]) -> None:
        check_turned_on(interaction.client)
        await interaction.client.launcher.launch_from_job(
            interaction, self.job, kind=JobKind.DESCRIBE, derive=described_again
        )


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Describe(bot))
    bot.add_dynamic_items(SuggestionButton, DescribeAgainButton, ImagineAllButton)


async def teardown(bot: ImagineBot) -> None:
    bot.remove_dynamic_items(SuggestionButton, DescribeAgainButton, ImagineAllButton)
