"""Stopping a request in its tracks, so a test can kill the bot at an exact point of a conversation.

A hold catches the bot's requests that match it and keeps them waiting until the test releases it.
`applied=False` holds a request before Discord acts on it (as if the bot died while sending it: when
released it is dropped, never applied); `applied=True` holds it after Discord acted, before the answer
leaves (as if the bot died waiting for the answer: the change is made, the bot never hears of it).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import ApiError
from .messages import MessageBody


@dataclass
class Hold:
    pattern: re.Pattern[str]
    applied: bool
    body_matches: Callable[[MessageBody], bool] | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    caught: int = 0

    def matches(self, method: str, path: str, body: MessageBody, applied: bool) -> bool:
        if self.released.is_set() or applied != self.applied or not self.pattern.search(f"{method} {path}"):
            return False
        return self.body_matches is None or self.body_matches(body)

    async def wait(self, timeout: float = 180.0) -> None:
        """Until a request is caught."""
        await asyncio.wait_for(self.arrived.wait(), timeout)

    def release(self) -> None:
        self.released.set()


async def pause_if_held(holds: list[Hold], method: str, path: str, body: MessageBody, *, applied: bool) -> None:
    for hold in holds:
        if hold.matches(method, path, body, applied):
            hold.caught += 1
            hold.arrived.set()
            await hold.released.wait()
            if not applied:
                raise ApiError(503, 0, "The request was held and dropped before it reached Discord")
