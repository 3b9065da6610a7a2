"""Calls to Redis under the alias's circuit breaker (R1), for the invalidation modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from cache_admin.guard import RedisUnavailable
from cache_admin.guard import guarded as _guarded

T = TypeVar("T")


class CacheUnavailable(RedisUnavailable):
    """Redis could not be reached (or the breaker is open) for an invalidation.

    ``queued`` tells whether the operation was kept for replay when Redis is back (R2).
    """


def guarded(alias: str, call: Callable[[], T]) -> T:
    return _guarded(call, alias=alias, error=CacheUnavailable)
