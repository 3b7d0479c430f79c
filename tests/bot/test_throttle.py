"""Progress edits: only the newest state is written, and never the same state twice."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.throttle import ThrottledWriter


@dataclass(frozen=True)
class State:
    text: str
    final: bool = False


async def test_states_wanted_while_waiting_collapse_into_the_newest() -> None:
    written: list[State] = []

    async def write(state: State) -> None:
        written.append(state)

    writer = ThrottledWriter(write, interval=0)
    for percent in range(0, 100, 10):
        writer.want(State(f"{percent}%"))
    writer.want(State("done", final=True))
    await writer.run()
    assert written == [State("done", final=True)]


async def test_a_state_equal_to_the_shown_one_is_not_written_again() -> None:
    written: list[State] = []

    async def write(state: State) -> None:
        written.append(state)
        if state.text == "50%":
            writer.want(State("50%"))  # the same progress again, arriving during the write
            writer.want(State("50%"))

    writer = ThrottledWriter(write, interval=0)
    writer.want(State("50%"))
    task = asyncio.create_task(writer.run())
    await asyncio.sleep(0.01)
    writer.want(State("done", final=True))
    await task
    assert written == [State("50%"), State("done", final=True)]
