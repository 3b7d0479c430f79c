"""The messages the bot deletes itself, so that hearing of their deletion is not taken for a moderator's.

Discord tells the bot of every deleted message (MESSAGE_DELETE), its own deletions included, and never says who
deleted it: only the audit log does, which needs the View Audit Log permission the bot does not ask for, and it
lists a deletion only when someone deleted another user's message. So the bot notes a message here before it
deletes it (the event can arrive before the answer to the request), and the handler of the event
(`bot.exts.images.delete`) takes a noted id for the bot's own doing. Anything else that deletes one of the bot's
messages in a server has Manage Messages there: a moderator.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import discord

# A noted id the event never came for (the request failed, the gateway dropped it) is forgotten after this long;
# the event of a deletion that succeeded comes within seconds.
FORGET_AFTER_SECONDS = 600.0

DELETED_IN_DISCORD = 0
"""`hidden_by` of a job whose message was deleted in Discord itself, by someone the bot cannot know (no Discord
id is 0)."""


class OwnDeletions:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._noted: dict[int, float] = {}

    async def delete(self, message: discord.Message | discord.PartialMessage) -> None:
        """Delete one of the bot's messages as the bot's own doing. A failed request leaves the note until it is
        forgotten: whether Discord deleted the message is then unknown, and a note too many only means a
        moderator's deletion of that message within FORGET_AFTER_SECONDS is not acted on."""
        self.note(message.id)
        await message.delete()

    def note(self, message_id: int) -> None:
        self._forget_old()
        self._noted[message_id] = self._clock()

    def claim(self, message_id: int) -> bool:
        """Whether the bot deleted this message itself (true once per noted deletion)."""
        self._forget_old()
        return self._noted.pop(message_id, None) is not None

    def _forget_old(self) -> None:
        cutoff = self._clock() - FORGET_AFTER_SECONDS
        for message_id in [message_id for message_id, noted in self._noted.items() if noted < cutoff]:
            del self._noted[message_id]
