"""Write only the newest state of a message, at most once per interval, and only when it changed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar


class MessageState(Protocol):
    final: bool


StateT = TypeVar("StateT", bound=MessageState)


class ThrottledWriter(Generic[StateT]):
    """Progress arrives once per denoising step; Discord wants about one edit per 2 s per message.

    Callers `want()` states as fast as they like; `run()` writes the latest one whenever the
    interval has passed, skips states equal to what is shown, and returns after a final state.
    """

    def __init__(self, write: Callable[[StateT], Awaitable[None]], interval: float) -> None:
        self._write = write
        self._interval = interval
        self._wanted: StateT | None = None
        self._shown: StateT | None = None
        self._wake = asyncio.Event()

    def want(self, state: StateT) -> None:
        self._wanted = state
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last_write = float("-inf")
        while True:
            await self._wake.wait()
            delay = last_write + self._interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._wake.clear()
            state = self._wanted
            if state is not None and state != self._shown:
                await self._write(state)
                self._shown = state
                last_write = loop.time()
            if state is not None and state.final:
                return
