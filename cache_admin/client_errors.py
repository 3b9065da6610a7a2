"""What the Redis client libraries raise, sorted into outages and answers.

The package reaches Redis through redis-py (django-redis, Django's built-in backend, the
package's cluster backends) or valkey-py (django-valkey): two libraries with the same API
and separate exception classes. ``backend`` re-exports these tuples; code catches
``REDIS_ERRORS`` (the server could not be reached: the breaker counts it, the toolkit fails
open) before ``ERROR_REPLIES`` (the server is there and refused the command).
"""

from __future__ import annotations

import socket
from types import ModuleType

import redis


def _found(module: ModuleType | None, *names: str) -> tuple[type[BaseException], ...]:
    # Older client lines lack some cluster classes.
    found = (getattr(module, name, None) for name in names)
    return tuple(cls for cls in found if isinstance(cls, type))


try:  # django-valkey's client library: the ``cluster`` extra
    import valkey.exceptions as _valkey
except ImportError:  # pragma: no cover - installed with the test extra
    _valkey = None  # type: ignore[assignment]

# Not an answer: a connection refused, reset or timed out, a server still loading, and on a
# cluster, a slot no node serves (CLUSTERDOWN, the client finding no node for the slot,
# after its retries), or no node answering the topology query.
_OUTAGE_NAMES = (
    "ConnectionError",
    "TimeoutError",
    "BusyLoadingError",
    "ClusterDownError",
    "ClusterError",
    "SlotNotCoveredError",
    "RedisClusterUnreachableError",
)

REDIS_ERRORS: tuple[type[BaseException], ...] = (
    *_found(redis.exceptions, *_OUTAGE_NAMES),
    *_found(_valkey, *_OUTAGE_NAMES),
    OSError,
)
try:  # django-redis wraps errors of its own API in ConnectionInterrupted.
    from django_redis.exceptions import ConnectionInterrupted

    REDIS_ERRORS = (*REDIS_ERRORS, ConnectionInterrupted)
except ImportError:  # pragma: no cover - django-redis is a dependency
    pass
try:  # so does django-valkey, in a class of its own
    from django_valkey.exceptions import ConnectionInterrupted as ValkeyInterrupted

    REDIS_ERRORS = (*REDIS_ERRORS, ValkeyInterrupted)
except ImportError:  # pragma: no cover - installed with the test extra
    pass

# What a cluster client raises when it cannot be made: no startup node answers, or the
# slots are not all served (the client library's own classes, not its error replies).
CLUSTER_SETUP_ERRORS: tuple[type[BaseException], ...] = (
    *_found(redis.exceptions, "RedisClusterException"),
    *_found(_valkey, "ValkeyClusterException"),
)

# The server answered with an error (WRONGTYPE, NOSCRIPT, OOM, CROSSSLOT...), or the client
# refused the call: whatever else the libraries raise. Catch REDIS_ERRORS first.
ERROR_REPLIES: tuple[type[BaseException], ...] = (
    *_found(redis.exceptions, "RedisError"),
    *_found(_valkey, "ValkeyError"),
)
RESPONSE_ERRORS: tuple[type[BaseException], ...] = (
    *_found(redis.exceptions, "ResponseError"),
    *_found(_valkey, "ResponseError"),
)
# A write refused by a server that is there: out of memory, or a read-only replica.
REFUSED_WRITES: tuple[type[BaseException], ...] = (
    *_found(redis.exceptions, "OutOfMemoryError", "ReadOnlyError"),
    *_found(_valkey, "OutOfMemoryError", "ReadOnlyError"),
)
NO_SCRIPT_ERRORS: tuple[type[BaseException], ...] = (
    *_found(redis.exceptions, "NoScriptError"),
    *_found(_valkey, "NoScriptError"),
)
# A server that did not answer within the socket timeout (the breaker opens at once).
TIMEOUTS: tuple[type[BaseException], ...] = (
    *_found(redis.exceptions, "TimeoutError"),
    *_found(_valkey, "TimeoutError"),
    socket.timeout,
)
