"""Turning any failure into an ephemeral message, so users never see "This interaction failed"."""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import discord

from engine.flags import FlagError
from jobs.queue import QueueFull, SourceGone

log = logging.getLogger(__name__)


class UserFacingError(Exception):
    """A refusal or problem whose message is written for the person who pressed or typed something."""


class CooldownActive(UserFacingError):
    """A member used a command or buttons faster than their cooldown allows (`bot.gate`)."""


class NotInDMs(UserFacingError):
    """A command or button used in a DM with the bot while DMs are off (`bot.gate`)."""


# Why a member was refused, for the metrics (`refusal_reason`); the first class that matches names it.
REFUSAL_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (SourceGone, "refused"),  # told like a cap, but no cap was hit
    (QueueFull, "queue_full"),
    (FlagError, "bad_flag"),
    (discord.app_commands.CommandOnCooldown, "cooldown"),
    (CooldownActive, "cooldown"),
    (discord.app_commands.CheckFailure, "not_allowed"),
    (NotInDMs, "not_allowed"),
    (UserFacingError, "refused"),
)


def refusal_reason(error: BaseException) -> str:
    """A short code, never the member's text; `unexpected_error` for a bug (the member gets a log reference)."""
    cause = getattr(error, "original", None) or error
    return next((reason for kind, reason in REFUSAL_REASONS if isinstance(cause, kind)), "unexpected_error")


def describe(error: BaseException) -> str:
    """What to tell the user: our own messages verbatim, anything unexpected as a reference to the log."""
    cause = getattr(error, "original", None) or error  # app command errors wrap the real one
    if isinstance(cause, UserFacingError | FlagError | QueueFull):
        return str(cause)
    if isinstance(cause, discord.app_commands.CommandOnCooldown):
        return f"Slow down: try again in {cause.retry_after:.0f} s."
    if isinstance(cause, discord.app_commands.CheckFailure):
        return str(cause) or "You can't use this command here."
    reference = secrets.token_hex(4)
    log.error("Unexpected error %s", reference, exc_info=cause)
    return f"Something went wrong on our side (reference `{reference}`); the bot's log has the details."


async def reply_ephemeral(interaction: discord.Interaction, content: str) -> None:
    """Answer whether or not the interaction was already acknowledged; never raises."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True)
        else:
            await interaction.response.send_message(content, ephemeral=True)
    except discord.HTTPException:
        log.warning("Could not tell user %s about an error: %s", interaction.user.id, content)


async def report(interaction: discord.Interaction, error: BaseException) -> None:
    interaction.client.dispatch("refusal", interaction, refusal_reason(error))  # counted by bot.metrics
    await reply_ephemeral(interaction, describe(error))


@contextlib.asynccontextmanager
async def public_answer(interaction: discord.Interaction) -> AsyncIterator[None]:
    """Acknowledge at once with a public "thinking…" (the answer will be a public message); if the handler
    refuses, take that message back first, so the refusal reaches only the member who asked."""
    await interaction.response.defer(thinking=True)
    try:
        yield
    except Exception:
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()
        raise


def guarded(callback: Callable[[Any, discord.Interaction], Awaitable[None]]):
    """Wrap a button callback: discord.py only logs a DynamicItem's exceptions, so we answer the user."""

    @functools.wraps(callback)
    async def wrapper(self: Any, interaction: discord.Interaction) -> None:
        try:
            await callback(self, interaction)
        except Exception as error:
            await report(interaction, error)

    return wrapper
