"""Per-member cooldowns: a token bucket for each member and kind of action, in memory.

A bucket of `uses` tokens refills one token every `per_seconds / uses`: a member may make `uses` requests
in a burst, then one each refill interval. Cooldowns protect the event loop and the database from a
member hammering a command; the queue's caps (`jobs.sql_queue`) are what bound the GPU work.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

# Buckets are dropped once full again (the member has been quiet); this many members triggers a sweep.
SWEEP_AT = 10_000
RATE_FORMAT = re.compile(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*")


@dataclass(frozen=True)
class Rate:
    """`uses` per `per_seconds`, written `3/30` in the settings."""

    uses: int
    per_seconds: float

    @classmethod
    def parse(cls, text: str) -> Rate | None:
        """`3/30` (three uses per 30 s); `off` or `0` turns this cooldown off (None)."""
        if text.strip().lower() in ("off", "0", "none", ""):
            return None
        match = RATE_FORMAT.fullmatch(text)
        if match is None or int(match[1]) < 1 or float(match[2]) <= 0:
            raise ValueError(f"a cooldown is written USES/SECONDS, like 3/30, or off; got {text!r}")
        return cls(int(match[1]), float(match[2]))

    def __str__(self) -> str:
        return f"{self.uses} per {self.per_seconds:g} s"


@dataclass
class _Bucket:
    tokens: float
    updated: float


class Cooldowns:
    """`clock` is injectable so tests can move time instead of sleeping."""

    def __init__(self, rates: dict[str, Rate | None], clock: Callable[[], float] = time.monotonic) -> None:
        self._rates = rates
        self._clock = clock
        self._buckets: dict[tuple[str, int], _Bucket] = {}

    def rate(self, action: str) -> Rate | None:
        return self._rates.get(action)

    def take(self, action: str, member_id: int) -> float:
        """Spend one use; returns 0 when allowed, else the seconds until the next use is available."""
        rate = self._rates.get(action)
        if rate is None:
            return 0.0
        now = self._clock()
        bucket = self._buckets.get((action, member_id))
        if bucket is None:
            if len(self._buckets) >= SWEEP_AT:
                self._sweep(now)
            bucket = self._buckets[action, member_id] = _Bucket(float(rate.uses), now)
        refill = rate.uses / rate.per_seconds
        bucket.tokens = min(float(rate.uses), bucket.tokens + (now - bucket.updated) * refill)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / refill

    def _sweep(self, now: float) -> None:
        """Forget members whose buckets have refilled: they start full again anyway."""
        for key, bucket in list(self._buckets.items()):
            rate = self._rates.get(key[0])
            if rate is None or bucket.tokens + (now - bucket.updated) * rate.uses / rate.per_seconds >= rate.uses:
                del self._buckets[key]
