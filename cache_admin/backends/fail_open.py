"""What the package's cache backends add to Django's cache API: every call consults the
circuit breaker of the cache's alias, the same one the toolkit uses (R1).

While Redis cannot be reached (the breaker is open, or the call failed on a connection
error or a timeout) nothing waits and nothing raises: a read is a miss, a write is dropped
(it answers as a write that did not happen), and a delete is queued in the invalidation
outbox, replayed when Redis is back (R2). ``incr``/``decr`` cannot answer a number they do
not know: they raise :class:`CacheUnavailable`, a ``ValueError`` (what Django raises for a
missing key) that is also redis-py's ``ConnectionError``.

An error reply (WRONGTYPE, OOM...) is not an outage: it is raised as the wrapped backend
raises it (django-redis's ``IGNORE_EXCEPTIONS`` still silences it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.utils.module_loading import import_string

from cache_admin import backend
from cache_admin.breaker import Breaker, breaker_for
from cache_admin.guard import RedisUnavailable
from cache_admin.invalidation import outbox

logger = logging.getLogger("cache_admin")

T = TypeVar("T")

UNAVAILABLE: Any = object()  # what a guarded call answers when Redis could not be reached


class CacheUnavailable(RedisUnavailable, ValueError):
    """An increment that could not reach Redis: there is no number to answer."""


def resolve_alias(cls: type, server: Any, params: dict[str, Any]) -> str | None:
    """The CACHES alias this cache was built from, or None (built by hand).

    Django's cache handler passes a backend its settings but not its alias. The breaker is
    the alias's, shared with the toolkit, so the alias is found again in CACHES: the entry
    with this backend, this LOCATION and these parameters. Two aliases configured exactly
    alike are the same cache of the same server and share a breaker either way.
    """
    for name, config in caches.settings.items():
        if config.get("LOCATION", "") != server:
            continue
        if {k: v for k, v in config.items() if k not in ("BACKEND", "LOCATION")} != params:
            continue
        try:
            if import_string(config["BACKEND"]) is cls:
                return str(name)
        except (ImportError, KeyError):
            continue
    return None


class FailOpenCache(BaseCache):
    """Mixed in before a Redis backend class (see ``cache_admin.backends``)."""

    # What a dropped write and a queued delete answer, as the wrapped backend's API does.
    set_dropped: bool | None = None
    many_deleted: int | None = None
    # Error replies silenced as an outage is (django-redis's IGNORE_EXCEPTIONS).
    ignore_error_replies = False

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)  # type: ignore[call-arg]
        found = resolve_alias(type(self), server, params)
        # A cache built outside CACHES gets a breaker of its own and cannot queue deletes
        # (a replay reaches Redis through the alias).
        self.breaker_alias = found
        self.breaker: Breaker = breaker_for(found or f"{type(self).__qualname__}:{server}")

    # The guard every call goes through.

    def guarded(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``call(*args, **kwargs)``, or UNAVAILABLE when Redis could not be reached."""
        breaker = self.breaker
        if breaker.opened_at is not None and not breaker.allow():
            return UNAVAILABLE  # type: ignore[no-any-return]
        try:
            result = call(*args, **kwargs)
        except Exception as exc:
            if not self.absorbed(exc):
                raise
            return UNAVAILABLE  # type: ignore[no-any-return]
        if breaker.failures:
            breaker.success()
        return result

    def absorbed(self, exc: Exception) -> bool:
        """Feed the breaker with a failed call; True when the caller answers as in an outage."""
        if isinstance(exc, RedisUnavailable):  # an inner guarded call fed the breaker already
            return True
        if isinstance(exc, backend.REDIS_ERRORS):
            self.breaker.failure(exc)
            return True
        if isinstance(exc, backend.ERROR_REPLIES):  # the server answered
            self.breaker.success()
            return self.ignore_error_replies
        self.breaker.release()  # our own error: it proved nothing about the server
        return False

    def queue_deletes(self, stored: list[str]) -> None:
        if not stored:
            return
        if self.breaker_alias is None:
            logger.warning(
                "Redis unreachable: %d keys not deleted (a cache built outside CACHES "
                "has no alias to replay the deletion on)",
                len(stored),
            )
            return
        outbox.queue_keys(stored, alias=self.breaker_alias, reason="cache backend call")

    def stored_key(self, key: Any, version: int | None = None, **kwargs: Any) -> str:
        return self.make_key(key, version=version)

    # Django's cache API.

    def get(self, key: Any, default: Any = None, version: int | None = None, **kwargs: Any) -> Any:
        # The hit path: the guard written out, no extra call on the way.
        breaker = self.breaker
        if breaker.opened_at is not None and not breaker.allow():
            return default
        try:
            value = super().get(key, default, version, **kwargs)
        except Exception as exc:
            if not self.absorbed(exc):
                raise
            return default
        if breaker.failures:
            breaker.success()
        return value

    def get_many(self, keys: Iterable[Any], version: int | None = None, **kw: Any) -> Any:
        found = self.guarded(super().get_many, keys, version=version, **kw)
        return {} if found is UNAVAILABLE else found

    def has_key(self, key: Any, version: int | None = None, **kwargs: Any) -> bool:
        found = self.guarded(super().has_key, key, version=version, **kwargs)
        return False if found is UNAVAILABLE else found

    def set(
        self,
        key: Any,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        **kwargs: Any,
    ) -> Any:
        done = self.guarded(super().set, key, value, timeout, version, **kwargs)
        return self.set_dropped if done is UNAVAILABLE else done

    def add(
        self,
        key: Any,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        **kwargs: Any,
    ) -> bool:
        done = self.guarded(super().add, key, value, timeout, version, **kwargs)
        return False if done is UNAVAILABLE else done

    def set_many(
        self,
        data: dict[Any, Any],
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        **kwargs: Any,
    ) -> Any:
        done = self.guarded(super().set_many, data, timeout, version, **kwargs)
        return list(data) if done is UNAVAILABLE else done  # the keys not stored

    def touch(
        self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None, **kw: Any
    ) -> bool:
        done = self.guarded(super().touch, key, timeout, version, **kw)
        return False if done is UNAVAILABLE else done

    def delete(self, key: Any, version: int | None = None, **kwargs: Any) -> bool:
        done = self.guarded(super().delete, key, version, **kwargs)
        if done is UNAVAILABLE:
            self.queue_deletes([self.stored_key(key, version, **kwargs)])
            return False  # not deleted yet: queued
        return done

    def delete_many(self, keys: Iterable[Any], version: int | None = None, **kw: Any) -> Any:
        keys = list(keys)
        done = self.guarded(super().delete_many, keys, version, **kw)
        if done is UNAVAILABLE:
            self.queue_deletes([self.stored_key(key, version) for key in keys])
            return self.many_deleted
        return done

    def incr(self, key: Any, delta: int = 1, version: int | None = None, **kwargs: Any) -> int:
        return self.counted(super().incr, key, delta, version, **kwargs)

    def decr(self, key: Any, delta: int = 1, version: int | None = None, **kwargs: Any) -> int:
        return self.counted(super().decr, key, delta, version, **kwargs)

    def incr_version(
        self, key: Any, delta: int = 1, version: int | None = None, **kwargs: Any
    ) -> int:
        return self.counted(super().incr_version, key, delta, version, **kwargs)

    def counted(self, call: Callable[..., int], key: Any, *args: Any, **kwargs: Any) -> int:
        done = self.guarded(call, key, *args, **kwargs)
        if done is UNAVAILABLE:
            raise CacheUnavailable(f"Redis unreachable: {key!r} cannot be incremented now")
        return done

    def clear(self) -> Any:
        done = self.guarded(super().clear)
        if done is UNAVAILABLE:
            logger.error(
                "cache.clear() not done: Redis for cache %r is unreachable", self.breaker.name
            )
            return False
        return done

    # Django 6 sends these to the sync methods above when a backend overrides them; Django
    # 5.2 loops over aget/aset instead. Both lines now behave alike.

    async def aget_many(self, keys: Iterable[Any], version: int | None = None) -> Any:
        return await sync_to_async(self.get_many, thread_sensitive=True)(keys, version)

    async def ahas_key(self, key: Any, version: int | None = None) -> bool:
        return await sync_to_async(self.has_key, thread_sensitive=True)(key, version)

    async def aincr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return await sync_to_async(self.incr, thread_sensitive=True)(key, delta, version)

    async def aset_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> Any:
        return await sync_to_async(self.set_many, thread_sensitive=True)(data, timeout, version)

    async def adelete_many(self, keys: Iterable[Any], version: int | None = None) -> Any:
        return await sync_to_async(self.delete_many, thread_sensitive=True)(keys, version)

    async def aincr_version(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return await sync_to_async(self.incr_version, thread_sensitive=True)(key, delta, version)
