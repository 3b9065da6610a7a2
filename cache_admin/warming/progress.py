"""The progress reporter handed to a warm function, and its helper to write warmed keys.

Reports reach the listeners (the run's database row, the Celery task state, a terminal
bar) at most every ``WARM_PROGRESS_INTERVAL`` seconds, plus the first and the last one,
so a warmer may report every item without a write per item.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT

from cache_admin import backend
from cache_admin.conf import conf
from cache_admin.guard import guarded
from cache_admin.policy import ttl_for
from cache_admin.types import CacheType, type_for_key

Listener = Callable[[int, int], None]


class Progress:
    def __init__(self, listeners: list[Listener] | None = None) -> None:
        self.current = 0
        self.total = 0
        self.keys_written = 0
        self._listeners = list(listeners or [])
        self._last_emit: float | None = None

    def set_total(self, total: int) -> None:
        self.total = max(0, int(total))
        self._emit()

    def update(self, current: int, total: int | None = None) -> None:
        if total is not None:
            self.total = max(0, int(total))
        self.current = max(0, int(current))
        self._emit()

    def advance(self, n: int = 1) -> None:
        self.update(self.current + n)

    def write(
        self,
        key: str,
        value: Any,
        cache_type: str | CacheType | None = None,
    ) -> int | None:
        """``cache.set`` with the policy TTL plus jitter (no synchronised expiry).

        The type is the key's own (longest prefix) unless given. Returns the TTL written.
        """
        found = cache_type if cache_type is not None else type_for_key(key)
        ttl = ttl_for(found)
        timeout = DEFAULT_TIMEOUT if ttl is None else ttl
        guarded(lambda: backend.get_cache().set(key, value, timeout=timeout))
        self.keys_written += 1
        return ttl

    def flush(self) -> None:
        self._emit(force=True)

    def _emit(self, force: bool = False) -> None:
        now = time.monotonic()
        interval = conf.WARM_PROGRESS_INTERVAL
        done = self.total > 0 and self.current >= self.total
        throttled = self._last_emit is not None and now - self._last_emit < interval
        if throttled and not (force or done):
            return
        self._last_emit = now
        for listener in self._listeners:
            listener(self.current, self.total)
