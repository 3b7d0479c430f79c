"""What a device worker needs from "an engine": the seam between the feeding thread and where generation runs.

Two kinds stand behind it: an engine process on this machine (`jobs.engine_process.EngineProcess`, the
default) and an engine actor on a machine of a Ray cluster (`jobs.ray_backend`, ENGINE_BACKEND=ray). Both
speak the messages of `jobs.messages`, report their end as `receive() -> None`, and can be waited on with
`multiprocessing.connection.wait` alongside the worker's wake-up socket, so the feeding thread is the same
loop for both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from jobs.messages import EngineMessage, RunGroup, Shutdown


class EngineHandle(Protocol):
    """One running engine, used only by its device's feeding thread (the cancel methods also by the event loop's,
    under the worker's lock)."""

    @property
    def waitables(self) -> Sequence[Any]:
        """Objects `multiprocessing.connection.wait` accepts: one is ready when the engine said something or ended."""
        ...

    @property
    def exit_code(self) -> int | str | None:
        """How it ended, for the log."""
        ...

    def send(self, message: RunGroup | Shutdown) -> bool:
        """False if the engine is gone (its end is reported by `receive`)."""
        ...

    def receive(self) -> EngineMessage | None:
        """The next message, or None once the engine has ended."""
        ...

    def has_more(self) -> bool:
        """Whether `receive` would return at once."""
        ...

    def open_group(self, seq: int) -> None:
        """Before `RunGroup(seq)` is sent: clear that group's cancel bits."""
        ...

    def cancel_job(self, seq: int, position: int) -> None: ...

    def want_previews(self, seq: int) -> None:
        """Someone follows a job of that group: send preview PNGs with its progress (one per PREVIEW_INTERVAL)."""
        ...

    def abort_up_to(self, seq: int) -> None:
        """Stop every group numbered up to `seq` (a stop that ran out of time)."""
        ...

    def kill(self) -> None: ...

    def reap(self) -> None:
        """After `receive` returned None: release what the engine held."""
        ...


EngineStarter = Callable[[], EngineHandle]
"""Starts a device's engine; called again (after a backoff) each time the last one ended."""


@dataclass(frozen=True)
class Device:
    """A device the processor feeds (names may repeat: ENGINE_DEVICES=cpu,cpu is two) and what starts its engine."""

    name: str
    start_engine: EngineStarter
