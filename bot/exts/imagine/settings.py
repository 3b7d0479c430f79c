"""/settings — your defaults for /imagine (aspect, steps, model, guidance or stylize, sampler, chaos, negative
prompt), what V1–V4 do, Remix, private results, and whether others may press the buttons on your images."""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands
from pydantic import ValidationError

from bot.client import ImagineBot
from bot.errors import UserFacingError
from bot.private_replies import settings_content
from engine.flags import PromptDefaults, parse_aspect, stylize_to_guidance
from engine.samplers import SAMPLERS
from jobs.states import VariationMode
from jobs.views import SettingsChange

CLEAR = "default"
MAX_CHOICES = 25  # Discord shows at most 25 autocomplete choices
MAX_NEGATIVE_PROMPT = 500
SAMPLER_CHOICES = [app_commands.Choice(name=spec.label, value=name) for name, spec in SAMPLERS.items()][:MAX_CHOICES]


class Settings(commands.Cog):
    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot

    @app_commands.command(description="Your /imagine defaults and how your buttons behave; with no options, shows them")
    @app_commands.describe(
        aspect=f"Aspect ratio such as 16:9, or '{CLEAR}'",
        steps="Denoising steps (1-150)",
        model="One of this server's models (/info lists them)",
        guidance="How closely images follow the prompt (0-30), like --cfg",
        stylize="Midjourney's --stylize (0-1000), turned into guidance",
        sampler="The diffusion sampler",
        chaos="How different the four images are from each other (0-100)",
        negative_prompt=f"Things to keep out of every image, comma-separated, or '{CLEAR}'",
        variations="What V1-V4 under your grids do: strong or subtle variations",
        remix="Open the prompt for editing before V, 🔄, Vary, Zoom and Pan",
        private="Show your jobs in your DMs with me instead of the channel",
        others_may_press_my_buttons="Whether others may press the buttons under your images",
        reset="Forget all your defaults first",
    )
    @app_commands.choices(sampler=SAMPLER_CHOICES)
    async def settings(
        self,
        interaction: discord.Interaction,
        aspect: str | None = None,
        steps: app_commands.Range[int, 1, 150] | None = None,
        model: str | None = None,
        guidance: app_commands.Range[float, 0.0, 30.0] | None = None,
        stylize: app_commands.Range[int, 0, 1000] | None = None,
        sampler: str | None = None,
        chaos: app_commands.Range[int, 0, 100] | None = None,
        negative_prompt: app_commands.Range[str, 1, MAX_NEGATIVE_PROMPT] | None = None,
        variations: Literal["strong", "subtle"] | None = None,
        remix: bool | None = None,
        private: bool | None = None,
        others_may_press_my_buttons: bool | None = None,
        reset: bool = False,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if guidance is not None and stylize is not None:
            raise UserFacingError("Those settings were not saved: give guidance or stylize, not both.")
        user_id = interaction.user.id
        current = await self.bot.member_settings.get(user_id)
        asked: dict[str, Any] = {
            "aspect": aspect if aspect is None or aspect.strip().lower() == CLEAR else _aspect(aspect),
            "steps": steps,
            "model": model.strip() if model else None,
            "guidance": stylize_to_guidance(stylize) if stylize is not None else guidance,
            "sampler": sampler,
            "chaos": chaos,
            "negative_prompt": negative_prompt.strip() if negative_prompt else None,
        }
        defaults = {} if reset else dict(current.defaults)
        for name, value in asked.items():
            if isinstance(value, str) and value.lower() == CLEAR:
                defaults.pop(name, None)
            elif value is not None:
                defaults[name] = value
        validated = self._validated(defaults)
        updated = await self.bot.member_settings.change(
            user_id,
            SettingsChange(
                defaults=validated.model_dump(mode="json", exclude_defaults=True),
                others_may_use_buttons=others_may_press_my_buttons,
                remix=remix,
                variation_mode=VariationMode(variations) if variations else None,
                private_results=private,
            ),
        )
        await interaction.followup.send(settings_content(updated), ephemeral=True)

    def _validated(self, defaults: dict[str, Any]) -> PromptDefaults:
        try:
            validated = PromptDefaults.model_validate(defaults)
        except (ValidationError, ValueError) as error:
            raise UserFacingError(f"Those settings were not saved: {_first_problem(error)}") from error
        if validated.model not in self.bot.models:
            names = ", ".join(self.bot.models.names)
            raise UserFacingError(
                f"Those settings were not saved: this server has no model {validated.model!r}; choose one of {names}."
            )
        return validated

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
