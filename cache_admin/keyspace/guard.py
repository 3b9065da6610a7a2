"""Run a piece of Redis work behind the circuit breaker, for people-facing callers.

An unreachable server (or an open breaker) becomes :class:`RedisUnavailable`, a subclass of
redis-py's ``ConnectionError`` so that code catching ``backend.REDIS_ERRORS`` also sees it,
with a message a page can show as it is (R1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import redis

from cache_admin import backend
from cache_admin.breaker import breaker_for

T = TypeVar("T")


class RedisUnavailable(redis.exceptions.ConnectionError):
    pass


def guarded(action: Callable[[], T]) -> T:
    name = backend.alias()
    breaker = breaker_for(name)
    if not breaker.allow():
        raise RedisUnavailable(
            f"Redis for cache {name!r} is unreachable (circuit breaker open); "
            "it is tried again in a few seconds."
        )
    try:
        result = action()
    except RedisUnavailable:
        raise
    except backend.REDIS_ERRORS as exc:
        breaker.failure(exc)
        raise RedisUnavailable(f"Redis for cache {name!r} is unreachable: {exc}") from exc
    except backend.NotRedisBackend as exc:
        breaker.success()
        raise RedisUnavailable(f"Cache {name!r} is not a Redis cache: {exc}") from exc
    except BaseException:
        # The server answered (an error reply, or a bug of ours): the connection is fine,
        # and a half-open breaker must not stay stuck waiting for this trial.
        breaker.success()
        raise
    breaker.success()
    return result
