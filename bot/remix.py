"""Remix: the prompt and flags of a job, opened for editing before a new job is made from it.

Midjourney's model: with Remix on (/settings), V1–V4, 🔄, Vary, Zoom Out and Pan first open a form holding
the job's prompt and flags; what the member writes goes through the same parser, with the same errors,
and the new job records the job it came from. Custom Zoom and Vary (Region) always open their form.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import discord

from bot.errors import report
from engine.flags import FlagError, PromptDefaults, format_flags, parse_prompt
from engine.registry import ModelRegistry
from engine.request import MAX_ZOOM, MIN_ZOOM, GenerationRequest

# As long as /imagine's prompt option allows.
MAX_REMIX_TEXT = 1500
# A form nobody submits is forgotten after this long (discord.py keeps it in memory until then).
FORM_TIMEOUT = 900.0
_SEED = re.compile(r"(?<!\S)--seed\s+\d+")
_ZOOM = re.compile(r"(?<!\S)(?:--|—|–)zoom(?:\s+(\S+))?", re.IGNORECASE)


def remix_text(request: GenerationRequest) -> str:
    """The prompt and the flags that made `request`, without its seed: a remix draws new noise unless the
    member writes a --seed of their own."""
    flags = _SEED.sub("", format_flags(request)).strip()
    return " ".join(part for part in (request.prompt.strip(), " ".join(flags.split())) if part)


def remixed(
    original: GenerationRequest, text: str, defaults: PromptDefaults, models: ModelRegistry
) -> GenerationRequest:
    """`text` parsed as /imagine would (FlagError says what to fix), keeping what the text cannot say: the
    images the original started from."""
    parsed = parse_prompt(text, defaults, models=models)
    return GenerationRequest.model_validate({**parsed.model_dump(), "image_prompts": original.image_prompts})


def split_zoom(text: str) -> tuple[str, float]:
    """Custom Zoom's `--zoom X` (from 1 to 2) taken out of the text; the text without it is a prompt."""
    found = list(_ZOOM.finditer(text))
    if len(found) != 1:
        raise FlagError(f"Custom Zoom needs one --zoom, a number from {MIN_ZOOM:g} to {MAX_ZOOM:g}, like --zoom 1.5")
    value = found[0].group(1) or ""
    try:
        factor = float(value)
    except ValueError:
        factor = float("nan")
    if not MIN_ZOOM <= factor <= MAX_ZOOM:
        shown = value[:20] or "nothing"
        raise FlagError(f"--zoom expects a number from {MIN_ZOOM:g} to {MAX_ZOOM:g}, like --zoom 1.5 (got {shown})")
    return (text[: found[0].start()] + text[found[0].end() :]).strip(), factor


Submit = Callable[[discord.Interaction, str], Awaitable[None]]


class PromptForm(discord.ui.Modal):
    """One text field holding a prompt and its flags; `submit` gets the member's text."""

    def __init__(self, title: str, text: str, submit: Submit, *, label: str = "Prompt and flags") -> None:
        super().__init__(title=title, timeout=FORM_TIMEOUT)
        self._submit = submit
        self.prompt = discord.ui.TextInput(
            label=label, style=discord.TextStyle.paragraph, default=text[:MAX_REMIX_TEXT], max_length=MAX_REMIX_TEXT
        )
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self._submit(interaction, self.prompt.value)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await report(interaction, error)
