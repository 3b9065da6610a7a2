"""Calls to Redis under the alias's circuit breaker (R1), for the invalidation modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import redis

from cache_admin import backend
from cache_admin.breaker import breaker_for

T = TypeVar("T")


class CacheUnavailable(redis.exceptions.ConnectionError):
    """Redis could not be reached (or the breaker is open).

    A ConnectionError, so code that handles ``backend.REDIS_ERRORS`` handles it too.
    """

    queued = False  # set when the operation was queued for replay (R2)


def guarded(alias: str, call: Callable[[], T]) -> T:
    """Run ``call`` under the alias's breaker; raise CacheUnavailable when Redis is out of reach."""
    breaker = breaker_for(alias)
    if not breaker.allow():
        raise CacheUnavailable(breaker.last_error or f"breaker for cache {alias!r} is open")
    try:
        result = call()
    except backend.REDIS_ERRORS as exc:
        breaker.failure(exc)
        raise CacheUnavailable(repr(exc)) from exc
    except BaseException as exc:
        if breaker.opened_at is not None:  # release a half-open trial, it proved nothing
            breaker.failure(exc)
        raise
    breaker.success()
    return result
