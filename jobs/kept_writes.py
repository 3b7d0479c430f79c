"""Writes the database refused, kept in order and tried again with backoff, so nothing an engine reports is
dropped while the database is locked, full or restarting (a device worker keeps one `KeptWrites`)."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# A failed database write (or claim) is tried again after this long, doubling up to MAX_RETRY_SECONDS.
RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0


class Backoff:
    """When to try again after failures: RETRY_SECONDS, doubling up to MAX_RETRY_SECONDS; a success resets it."""

    def __init__(self) -> None:
        self.delay = RETRY_SECONDS
        self._until = 0.0

    @property
    def waiting(self) -> bool:
        return time.monotonic() < self._until

    def failed(self) -> None:
        self._until = time.monotonic() + self.delay
        self.delay = min(self.delay * 2, MAX_RETRY_SECONDS)

    def succeeded(self) -> None:
        self.delay, self._until = RETRY_SECONDS, 0.0


@dataclass
class _Kept:
    what: str
    """For the log: "the result of job abc"."""
    write: Callable[[], Any]


class KeptWrites:
    """Writes in the order they were made: a new one waits behind any the database refused earlier."""

    def __init__(self) -> None:
        self._kept: deque[_Kept] = deque()
        self._backoff = Backoff()

    def __len__(self) -> int:
        return len(self._kept)

    def record(self, what: str, write: Callable[[], Any]) -> None:
        """Write now; if the database refuses, keep the write to try again later."""
        if self._kept:  # keep the order: earlier writes first
            self._kept.append(_Kept(what, write))
            self.retry()
            return
        try:
            write()
        except Exception:
            log.exception("recording %s failed; keeping it to try again", what)
            self._kept.append(_Kept(what, write))
            self._backoff.failed()

    def retry(self, *, force: bool = False) -> bool:
        """Try the kept writes again, oldest first, if their backoff is over (or `force`); True if any went in."""
        wrote = False
        while self._kept and (force or not self._backoff.waiting):
            kept = self._kept[0]
            try:
                kept.write()
            except Exception as error:
                log.warning("recording %s failed again (%s); next try in %.1f s", kept.what, error, self._backoff.delay)
                self._backoff.failed()
                break
            self._kept.popleft()
            self._backoff.succeeded()
            wrote = True
            log.info("recorded %s", kept.what)
        return wrote
