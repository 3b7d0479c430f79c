"""A server's content policy, applied to the images about to be shown somewhere: which are shown, which are
withheld, and whether they go behind a spoiler. Pure: the callers say where the images are going (`Venue`).

The engine flags an image when the model's own safety checker or the operator's classifier finds it unsafe
(`engine.safety`); each server chooses in /config what happens to flagged images made or shown there:

- block (the default): they are not shown; the message says which were withheld and why, and their U
  button refuses;
- spoiler: they are sent behind Discord's spoiler cover (the whole grid, since a grid is one picture);
- age-restricted: shown as they are in the server's age-restricted channels, withheld elsewhere.

Outside a server (direct messages) flagged images are always withheld: no server chose otherwise, and
Discord has no age-restricted DMs. Images nobody flagged are always shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jobs.states import ContentPolicy


@dataclass(frozen=True)
class Venue:
    """Where images are about to be shown."""

    policy: ContentPolicy = ContentPolicy.BLOCK
    """The server's choice in /config."""
    age_restricted: bool = False
    """The channel (or the whole server) is one of Discord's age-restricted ones."""
    in_server: bool = True


OUTSIDE_A_SERVER = Venue(ContentPolicy.BLOCK, age_restricted=False, in_server=False)


@dataclass(frozen=True)
class Showing:
    """What to do with a job's images in one place."""

    withheld: frozenset[int] = frozenset()
    """1-based indices of the images not to show."""
    spoiler: bool = False
    """Send what is shown behind a spoiler."""
    note: str | None = None
    """A line for the message, saying what happened to the flagged images and why."""


SHOW_EVERYTHING = Showing()


def decide(flagged: Iterable[int], venue: Venue) -> Showing:
    """What to show of images whose flagged ones have these 1-based indices."""
    flagged = sorted(set(flagged))
    if not flagged:
        return SHOW_EVERYTHING
    images, was = _images(flagged), "was" if len(flagged) == 1 else "were"
    if venue.in_server and venue.policy is ContentPolicy.SPOILER:
        return Showing(spoiler=True, note=f"{images} {was} flagged by the content filter, so this is behind a spoiler.")
    if venue.in_server and venue.policy is ContentPolicy.AGE_RESTRICTED and venue.age_restricted:
        return Showing(
            note=f"{images} {was} flagged by the content filter; shown because this channel is age-restricted."
        )
    return Showing(
        withheld=frozenset(flagged),
        note=f"{images} {was} withheld: the content filter flagged {_them(flagged)}, and {_rule(venue)}.",
    )


def refusal(index: int, venue: Venue) -> str:
    """Why the image a member asked for (U1–U4) cannot be posted here."""
    return f"Image #{index} can't be posted here: the content filter flagged it, and {_rule(venue)}."


def _rule(venue: Venue) -> str:
    if not venue.in_server:
        return "flagged images are not shown outside a server"
    if venue.policy is ContentPolicy.AGE_RESTRICTED:
        return "this server shows flagged images only in its age-restricted channels"
    return "this server does not show flagged images"


def _images(indices: list[int]) -> str:
    if len(indices) == 1:
        return f"Image #{indices[0]}"
    named = [f"#{index}" for index in indices]
    return f"Images {', '.join(named[:-1])} and {named[-1]}"


def _them(indices: list[int]) -> str:
    return "it" if len(indices) == 1 else "them"
