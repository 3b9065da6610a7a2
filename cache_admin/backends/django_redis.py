"""``cache_admin.backends.django_redis.RedisCache``: django-redis behind the alias's breaker.

Put it in ``CACHES[alias]["BACKEND"]`` instead of ``django_redis.cache.RedisCache``; the
options stay the same. Besides Django's API (``fail_open``), django-redis's own methods
(``ttl``, ``expire``, ``keys``, ``iter_keys``, ``delete_pattern``, ``lock``, the set, hash
and sorted-set calls) answer as described in :data:`ANSWERS` while Redis is unreachable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from django_redis.cache import RedisCache as DjangoRedisCache

from cache_admin.backends.fail_open import UNAVAILABLE, CacheUnavailable, FailOpenCache
from cache_admin.backends.lock import FailOpenLock
from cache_admin.invalidation import outbox
from cache_admin.stored_keys import glob_escape

__all__ = ["RedisCache"]

logger = logging.getLogger("cache_admin")

READ, WRITE, REMOVE, COUNT = "read", "write", "remove", "count"


def _count_arg(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return kwargs.get("count", args[1] if len(args) > 1 else None)


def _none_or(empty: Callable[[], Any]) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    # spop/srandmember answer one member, or a collection when given a count.
    return lambda args, kwargs: None if _count_arg(args, kwargs) is None else empty()


def _empty(kind: Callable[[], Any]) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    return lambda args, kwargs: kind()


# name: (kind, answer while Redis is unreachable). A read answers as for a missing key, a
# write as one that changed nothing, a member removal queues the whole key's deletion (an
# invalidation), and a counter raises CacheUnavailable (it has no number to answer).
ANSWERS: dict[str, tuple[str, Any]] = {
    "ttl": (READ, 0),
    "pttl": (READ, 0),
    "keys": (READ, _empty(list)),
    "hlen": (READ, 0),
    "hkeys": (READ, _empty(list)),
    "hexists": (READ, False),
    "scard": (READ, 0),
    "sdiff": (READ, _empty(set)),
    "sinter": (READ, _empty(set)),
    "smembers": (READ, _empty(set)),
    "sunion": (READ, _empty(set)),
    "sismember": (READ, False),
    "smismember": (READ, lambda args, kwargs: [False] * max(0, len(args) - 1)),
    "srandmember": (READ, _none_or(list)),
    "sscan": (READ, _empty(set)),
    "zcard": (READ, 0),
    "zcount": (READ, 0),
    "zrange": (READ, _empty(list)),
    "zrangebyscore": (READ, _empty(list)),
    "zrevrange": (READ, _empty(list)),
    "zrevrangebyscore": (READ, _empty(list)),
    "zrank": (READ, None),
    "zscore": (READ, None),
    "persist": (WRITE, False),
    "expire": (WRITE, False),
    "expire_at": (WRITE, False),
    "pexpire": (WRITE, False),
    "pexpire_at": (WRITE, False),
    "sadd": (WRITE, 0),
    "sdiffstore": (WRITE, 0),
    "sinterstore": (WRITE, 0),
    "sunionstore": (WRITE, 0),
    "smove": (WRITE, False),
    "spop": (WRITE, _none_or(set)),
    "hset": (WRITE, 0),
    "zadd": (WRITE, 0),
    "zpopmax": (WRITE, _empty(list)),
    "zpopmin": (WRITE, _empty(list)),
    "srem": (REMOVE, 0),
    "hdel": (REMOVE, 0),
    "zrem": (REMOVE, 0),
    "zremrangebyscore": (REMOVE, 0),
    "zincrby": (COUNT, None),
}


class RedisCache(FailOpenCache, DjangoRedisCache):
    set_dropped = False
    many_deleted = 0

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        # django-redis must raise a connection error for the breaker to see it; outages
        # are answered here. IGNORE_EXCEPTIONS keeps silencing error replies.
        self.ignore_error_replies = bool(getattr(self, "_ignore_exceptions", False))
        self._ignore_exceptions = False

    def stored_key(
        self, key: Any, version: int | None = None, prefix: str | None = None, **kwargs: Any
    ) -> str:
        return str(self.client.make_key(key, version=version, prefix=prefix))

    def delete_pattern(
        self, pattern: str, version: int | None = None, prefix: str | None = None, **kw: Any
    ) -> int:
        done = self.guarded(super().delete_pattern, pattern, version=version, prefix=prefix, **kw)
        if done is not UNAVAILABLE:
            return int(done)
        literal = pattern[:-1]
        plain = pattern.endswith("*") and glob_escape(literal) == literal
        if plain and version is None and prefix is None and self.breaker_alias is not None:
            outbox.queue_prefix(literal, alias=self.breaker_alias, reason="delete_pattern")
            return 0
        logger.warning("Redis unreachable: delete_pattern(%r) not done and not queued", pattern)
        return 0

    def iter_keys(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        found = self.guarded(super().iter_keys, *args, **kwargs)
        return iter(()) if found is UNAVAILABLE else self.guarded_iter(found)

    def sscan_iter(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        found = self.guarded(super().sscan_iter, *args, **kwargs)
        return iter(()) if found is UNAVAILABLE else self.guarded_iter(found)

    def guarded_iter(self, items: Iterator[Any]) -> Iterator[Any]:
        """SCAN-based iterators reach Redis while they are consumed: guarded step by step."""
        while True:
            step = self.guarded(next, items, UNAVAILABLE)
            if step is UNAVAILABLE:
                return
            yield step

    def lock(self, key: Any, *args: Any, **kwargs: Any) -> FailOpenLock:
        return FailOpenLock(super().lock(key, *args, **kwargs), self)


def _fail_open(name: str, kind: str, answer: Any) -> Callable[..., Any]:
    wrapped = getattr(DjangoRedisCache, name)

    def method(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
        done = self.guarded(wrapped, self, *args, **kwargs)
        if done is not UNAVAILABLE:
            return done
        if kind == COUNT:
            raise CacheUnavailable(f"Redis unreachable: {name} cannot answer now")
        if kind == REMOVE and args:
            self.queue_deletes([self.stored_key(args[0], kwargs.get("version"))])
        return answer(args, kwargs) if callable(answer) else answer

    method.__name__ = method.__qualname__ = name
    method.__doc__ = wrapped.__doc__
    return method


for _name, (_kind, _answer) in ANSWERS.items():
    if hasattr(DjangoRedisCache, _name):  # older django-redis lines lack some
        setattr(RedisCache, _name, _fail_open(_name, _kind, _answer))
