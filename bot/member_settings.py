"""Members' /settings, read through a small cache.

Remix must answer a button press with a modal, and a modal has to be the first response: the presser's
Remix switch is read before anything is acknowledged. The bot is the only writer of these settings, so
a cache it updates on every change is always current, and the press costs no database round trip.
"""

from __future__ import annotations

from collections import OrderedDict

from jobs import JobService
from jobs.views import SettingsChange, UserSettingsView

# Members whose settings stay in memory; the least recently used are read again from the database.
CACHED_MEMBERS = 4096


class MemberSettings:
    def __init__(self, jobs: JobService, size: int = CACHED_MEMBERS) -> None:
        self._jobs = jobs
        self._size = size
        self._cache: OrderedDict[int, UserSettingsView] = OrderedDict()

    async def get(self, user_id: int) -> UserSettingsView:
        cached = self._cache.get(user_id)
        if cached is None:
            cached = await self._jobs.user_settings(user_id)
            self._remember(cached)
        else:
            self._cache.move_to_end(user_id)
        return cached

    async def change(self, user_id: int, change: SettingsChange) -> UserSettingsView:
        updated = await self._jobs.set_user_settings(user_id, change)
        self._remember(updated)
        return updated

    def _remember(self, settings: UserSettingsView) -> None:
        self._cache[settings.user_id] = settings
        self._cache.move_to_end(settings.user_id)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
