"""How a job looks in Discord: the text of its message at every stage.

Modelled on Midjourney: `**prompt --flags** - <@user> (Waiting to start)`, then `(NN%)`, then the
bare caption under the finished grid. Long prompts are shortened for display only; the stored
request keeps the full text. Every function returns content within Discord's 2000-character cap.
"""

from __future__ import annotations

import re

import discord

from bot.layouts import NUMBERS
from engine.flags import format_flags
from engine.request import GenerationRequest, Operation

MAX_CONTENT = 2000
MAX_NOTES = 500
# Each /describe suggestion shown; four of them and the header stay well within MAX_CONTENT.
MAX_SUGGESTION = 400
MARKDOWN_CHARACTERS = re.compile(r"([\\*_~|`<>#\[\]])")
ELLIPSIS = "…"


def waiting_status(position: int | None) -> str:
    if position is None or position < 1:
        return "Waiting to start"
    return f"Waiting to start, #{position} in queue"


def progress_status(fraction: float) -> str:
    percent = max(0, min(100, int(fraction * 100)))
    return f"{percent}%"


def failed_status(reason: str) -> str:
    return f"Failed: {reason}"


CANCELLED_STATUS = "Cancelled"


def action_label(request: GenerationRequest, user_id: int) -> str:
    """Who asked for this job and how, e.g. `Variations (Strong) by <@1>`."""
    mention = f"<@{user_id}>"
    mode = (request.mode or "").title()
    match request.operation:
        case Operation.VARIATION:
            return f"Variations ({mode or 'Strong'}) by {mention}"
        case Operation.UPSCALE:
            return f"Upscaled ({mode or 'Subtle'}) by {mention}"
        case Operation.ZOOM:
            return f"Zoom Out by {mention}"
        case Operation.PAN:
            direction = request.direction.value.title() if request.direction else ""
            return f"Pan {direction} by {mention}"
        case _:
            return mention


def job_content(request: GenerationRequest, user_id: int, status: str = "", *, notes: tuple[str, ...] = ()) -> str:
    """The message text of a job; `status` is shown in parentheses and omitted once the job is done.

    `notes` are the request's warnings (an ignored flag, a prompt cut at the model's token window):
    the finished message shows them, because the engine only knows some of them once the job runs.
    """
    suffix = f" - {action_label(request, user_id)}"
    if status:
        suffix += f" ({shorten(status, 300)})"
    if notes:
        suffix += shorten("".join(f"\n⚠️ {_escape(note)}" for note in notes), MAX_NOTES)
    return _caption(request, suffix)


def described_content(user_id: int, suggestions: tuple[str, ...]) -> str:
    """A finished /describe: its numbered suggestions, each shown as plain text (a model wrote them, from an image
    a member chose, so they may hold markdown or mentions like any member text)."""
    lines = [f"{number} {quoted(text, MAX_SUGGESTION)}" for number, text in zip(NUMBERS, suggestions, strict=False)]
    return _caption_of_describe(f" - <@{user_id}>\n\n" + "\n\n".join(lines))


def image_content(request: GenerationRequest, user_id: int, index: int) -> str:
    """The text above one image separated from a grid (U1–U4)."""
    return _caption(request, f" - Image #{index} <@{user_id}>")


def _caption(request: GenerationRequest, suffix: str) -> str:
    """Bold prompt and flags; the prompt gives way first so the flags stay readable."""
    if request.operation is Operation.DESCRIBE:
        return _caption_of_describe(suffix)
    return f"**{prompt_and_flags(request, MAX_CONTENT - len(suffix) - len('****'))}**{suffix}"


def prompt_and_flags(request: GenerationRequest, limit: int) -> str:
    """The prompt and its flags (`format_flags`) as one escaped text a member can paste back, at most `limit`
    characters; the prompt gives way first, the flags keep at least half."""
    flags = _fit(_escape(format_flags(request)), limit // 2)
    prompt = _fit(_escape(request.prompt.strip()), limit - len(flags) - 1)
    return " ".join(part for part in (prompt, flags) if part)


def _caption_of_describe(suffix: str) -> str:
    """A /describe has no prompt: its suggestions are what it makes."""
    return f"**/describe**{suffix}"


def _escape(text: str) -> str:
    """Neutralise what could end our bold text early or ping people; flags like --ar stay readable."""
    return discord.utils.escape_mentions(MARKDOWN_CHARACTERS.sub(r"\\\1", " ".join(text.split())))


def quoted(text: str, limit: int) -> str:
    """Member text (a prompt, a banned word) shown as plain text: no markdown, links, mentions or line
    breaks of its own, at most `limit` characters."""
    return _fit(_escape(text), limit)


def _fit(escaped: str, limit: int) -> str:
    """Shorten already-escaped text without leaving a lone backslash that would escape our closing `**`."""
    if len(escaped) <= limit:
        return escaped
    return shorten(escaped, limit).removesuffix(ELLIPSIS).rstrip("\\") + ELLIPSIS


def shorten(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: limit - 1].rstrip() + ELLIPSIS
