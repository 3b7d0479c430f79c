"""What happens to a job, as a stream of events, and the hub that hands them to asyncio subscribers.

The queue publishes each transition right after committing it (`jobs.sql_queue`), the device workers
publish progress; each subscriber is an asyncio.Queue fed through its own loop's
call_soon_threadsafe, so those threads never touch the event loop directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from jobs.views import JobView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    position: int
    """1 means next to start."""


@dataclass(frozen=True)
class PositionChanged:
    position: int


@dataclass(frozen=True)
class Started:
    device: str | None = None


@dataclass(frozen=True)
class ProgressEvent:
    fraction: float
    preview_png: bytes | None = None


@dataclass(frozen=True)
class Finished:
    job: JobView
    """The job as recorded: resolved request, images with absolute paths."""

    @property
    def grid_path(self) -> Path | None:
        return self.job.grid_path

    @property
    def image_paths(self) -> tuple[Path, ...]:
        return tuple(image.path for image in self.job.images)


@dataclass(frozen=True)
class Failed:
    message: str
    """Written for the person who asked for the image."""


@dataclass(frozen=True)
class Cancelled:
    pass


JobEvent = Accepted | PositionChanged | Started | ProgressEvent | Finished | Failed | Cancelled
TERMINAL_EVENTS = (Finished, Failed, Cancelled)


class Subscription:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[JobEvent] = asyncio.Queue()

    def deliver(self, event: JobEvent) -> None:
        with contextlib.suppress(RuntimeError):  # the subscriber's loop has closed; nobody is listening any more
            self.loop.call_soon_threadsafe(self.queue.put_nowait, event)


class EventHub:
    """Fans events out to subscribers and remembers the last position told to each job."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._subscriptions: dict[str, list[Subscription]] = defaultdict(list)
        self._last_positions: dict[str, int] = {}
        self._sequence = 0
        self._left_line_at: dict[str, int] = {}  # job -> sequence number of its last event that is not a place
        self._observers: list[Callable[[str, JobEvent], None]] = []

    def observe(self, observer: Callable[[str, JobEvent], None]) -> None:
        """Also hand every event of every job to `observer(public_id, event)`, on the publishing thread (the
        metrics use it). It must be quick; an error in it is logged and never stops the transition's news."""
        self._observers.append(observer)

    def subscribe(self, public_id: str) -> Subscription:
        subscription = Subscription(asyncio.get_running_loop())
        with self._lock:
            self._subscriptions[public_id].append(subscription)
        return subscription

    def unsubscribe(self, public_id: str, subscription: Subscription) -> None:
        with self._lock:
            subscribers = self._subscriptions.get(public_id, [])
            if subscription in subscribers:
                subscribers.remove(subscription)
            if not subscribers:
                self._subscriptions.pop(public_id, None)

    def has_subscribers(self, public_id: str) -> bool:
        with self._lock:
            return bool(self._subscriptions.get(public_id))

    def publish(self, public_id: str, event: JobEvent) -> None:
        # Delivered under the lock, so a place in line computed before a claim can never reach a subscriber
        # after the claim's Started (`publish_positions`); delivering only schedules a callback.
        with self._lock:
            self._sequence += 1
            if isinstance(event, (PositionChanged, Accepted)):
                self._last_positions[public_id] = event.position
            else:
                self._last_positions.pop(public_id, None)
                self._left_line_at[public_id] = self._sequence
            for subscription in self._subscriptions.get(public_id, ()):
                subscription.deliver(event)
            for observer in self._observers:
                try:
                    observer(public_id, event)
                except Exception:
                    log.exception("an observer of job events failed")

    def sequence(self) -> int:
        """How many events were published so far: read it before reading places in line from the database."""
        with self._lock:
            return self._sequence

    def publish_positions(self, positions: dict[str, int], *, read_after: int) -> None:
        """Tell every queued job whose place in line moved; silent for the ones that did not, and for those that
        left the line (claimed, cancelled) after `read_after` (`sequence()` taken before `positions` were
        read): their place is stale, and the change that moved them has asked for another pass."""
        with self._lock:
            for public_id, position in positions.items():
                moved = self._last_positions.get(public_id) != position
                if moved and self._left_line_at.get(public_id, 0) <= read_after:
                    self.publish(public_id, PositionChanged(position))
            # Passes run one at a time, each reading later than the one before: older marks are done with.
            self._left_line_at = {job: at for job, at in self._left_line_at.items() if at > read_after}


class PositionsPublisher:
    """Recomputes every queued job's place in line after a change, on the given executor, and coalesces:
    changes that arrive while it runs (fifty users submitting at once) cost one more pass, not fifty."""

    def __init__(self, positions: Callable[[], dict[str, int]], hub: EventHub, executor: Executor) -> None:
        self._positions = positions
        self._hub = hub
        self._executor = executor
        self._lock = threading.Lock()
        self._running = False
        self._again = False

    def changed(self) -> None:
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        try:
            self._executor.submit(self._publish)
        except RuntimeError:  # the executor has shut down: the service is stopping, nobody is waiting in line
            with self._lock:
                self._running = False

    def _publish(self) -> None:
        while True:
            try:
                read_after = self._hub.sequence()
                self._hub.publish_positions(self._positions(), read_after=read_after)
            except Exception:  # the database went away for a moment: the next change recomputes them
                log.exception("recomputing the places in line failed")
            with self._lock:
                if not self._again:
                    self._running = False
                    return
                self._again = False
