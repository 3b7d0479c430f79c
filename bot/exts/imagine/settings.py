"""/settings — your defaults for /imagine, and whether others may press the buttons on your images."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands
from pydantic import ValidationError

from bot.client import ImagineBot
from bot.errors import UserFacingError
from bot.private_replies import settings_content
from engine.flags import PromptDefaults, parse_aspect

CLEAR = "default"
MAX_CHOICES = 25  # Discord shows at most 25 autocomplete choices


class Settings(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Your defaults for /imagine; with no options, shows them")
    @app_commands.describe(
        aspect=f"Aspect ratio such as 16:9, or '{CLEAR}'",
        steps="Denoising steps (1-150)",
        model="One of this server's models (/info lists them)",
        others_may_press_my_buttons="Whether others may press the buttons under your images",
        reset="Forget all your defaults first",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        aspect: str | None = None,
        steps: app_commands.Range[int, 1, 150] | None = None,
        model: str | None = None,
        others_may_press_my_buttons: bool | None = None,
        reset: bool = False,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        user_id = interaction.user.id
        current = await self.bot.jobs.user_settings(user_id)
        defaults = {} if reset else dict(current.defaults)
        if aspect is not None:
            defaults["aspect"] = None if aspect.strip().lower() == CLEAR else _aspect(aspect)
        if steps is not None:
            defaults["steps"] = steps
        if model is not None:
            defaults["model"] = None if model.strip().lower() == CLEAR else model.strip()
        try:
            validated = PromptDefaults.model_validate(defaults)
        except (ValidationError, ValueError) as error:
            raise UserFacingError(f"Those settings were not saved: {_first_problem(error)}") from error
        if validated.model not in self.bot.models:
            names = ", ".join(self.bot.models.names)
            raise UserFacingError(
                f"Those settings were not saved: this server has no model {validated.model!r}; choose one of {names}."
            )
        updated = await self.bot.jobs.set_user_settings(
            user_id,
            defaults=validated.model_dump(mode="json", exclude_defaults=True),
            others_may_use_buttons=others_may_press_my_buttons,
        )
        await interaction.followup.send(settings_content(updated), ephemeral=True)

    @settings.autocomplete("model")
    async def _model_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """The registered names, as the member types: nothing else can be chosen."""
        names = [name for name in self.bot.models.names if current.strip().lower() in name]
        return [app_commands.Choice(name=name, value=name) for name in names[:MAX_CHOICES]]


def _aspect(text: str) -> tuple[int, int]:
    try:
        return parse_aspect(text)
    except ValueError as error:
        raise UserFacingError(
            f"aspect expects two whole numbers like 16:9, between 1:4 and 4:1 (got {text!r})"
        ) from error


def _first_problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"])
        return f"{field}: {problem['msg']}"
    return str(error)


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(Settings(bot))
