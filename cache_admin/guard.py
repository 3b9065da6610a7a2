"""Run a piece of Redis work behind the alias's circuit breaker (R1).

An unreachable server (or an open breaker) becomes :class:`RedisUnavailable`, a subclass of
redis-py's ``ConnectionError`` so that code catching ``backend.REDIS_ERRORS`` also sees it,
with a message a page can show as it is; the invalidation modules ask for its subclass
:class:`CacheUnavailable`. Every toolkit module that talks to Redis outside the hit path
goes through :func:`guarded`, so the breaker is fed the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import redis

from cache_admin import backend
from cache_admin.breaker import breaker_for

T = TypeVar("T")


class RedisUnavailable(redis.exceptions.ConnectionError):
    # Set by the invalidation outbox when the operation was queued for replay (R2).
    queued = False


class CacheUnavailable(RedisUnavailable):
    """Redis could not be reached (or the breaker is open) for an invalidation.

    ``queued`` tells whether the operation was kept for replay when Redis is back (R2).
    """


def guarded(
    action: Callable[[], T],
    *,
    alias: str | None = None,
    error: type[RedisUnavailable] = RedisUnavailable,
) -> T:
    name = alias or backend.alias()
    breaker = breaker_for(name)
    if not breaker.allow():
        raise error(
            f"Redis for cache {name!r} is unreachable (circuit breaker open); "
            "it is tried again in a few seconds."
        )
    try:
        result = action()
    except RedisUnavailable:
        raise
    except backend.REDIS_ERRORS as exc:
        breaker.failure(exc)
        raise error(f"Redis for cache {name!r} is unreachable: {exc}") from exc
    except backend.NotRedisBackend as exc:
        breaker.release()
        raise error(f"Cache {name!r} is not a Redis cache: {exc}") from exc
    except backend.ERROR_REPLIES:
        # The server answered (an error reply): the connection is fine.
        breaker.success()
        raise
    except BaseException:
        # Our own error: it proved nothing about the server; free a half-open trial.
        breaker.release()
        raise
    breaker.success()
    return result
