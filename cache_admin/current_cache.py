"""Which cache, raw client and breaker are current: what one cache hit needs, remembered
per thread so that a hit skips the alias, handler and client look-ups."""

from __future__ import annotations

import threading

import redis
from django.core.cache import BaseCache, caches
from django.core.cache.backends.base import InvalidCacheBackendError, default_key_func

from cache_admin.backend import ClusterUnreachable, NotRedisBackend, client, get_cache
from cache_admin.breaker import Breaker, breaker_for
from cache_admin.client_errors import REDIS_ERRORS
from cache_admin.conf import CacheAdminSettings, snapshot
from cache_admin.stored_keys import stored_key

_local = threading.local()


class Current:
    """The configured cache, its raw client and breaker: what one cache hit needs."""

    __slots__ = (
        "_handler",
        "_prefix",
        "alias",
        "breaker",
        "cache",
        "client",
        "namespace",
        "settings",
    )

    def __init__(self, now: CacheAdminSettings, handler: object, name: str | None = None) -> None:
        self.alias = name or now.CACHE_ALIAS
        try:
            self.cache: BaseCache = get_cache(self.alias)
        except InvalidCacheBackendError as exc:  # E001 reports it; callers still serve
            raise NotRedisBackend(str(exc)) from exc
        self.breaker: Breaker = breaker_for(self.alias)
        self.client: redis.Redis = _guarded_client(self.cache, self.breaker)
        self.namespace = now.NAMESPACE
        self.settings = now
        self._handler = handler
        # With Django's default key function the stored key is a plain concatenation.
        self._prefix: str | None = (
            f"{self.cache.key_prefix}:{self.cache.version}:"
            if self.cache.key_func is default_key_func
            else None
        )

    def stored_key(self, logical: str) -> str:
        prefix = self._prefix
        return prefix + logical if prefix is not None else stored_key(logical, self.cache)


def _guarded_client(cache: BaseCache, breaker: Breaker) -> redis.Redis:
    # A cluster client reads the topology when it is made: a cluster that cannot be
    # reached fails here, and is not tried again by every caller while the breaker is open.
    if breaker.opened_at is not None and not breaker.allow():
        raise ClusterUnreachable(f"Redis for cache {breaker.name!r} is unreachable")
    try:
        return client(cache)
    except REDIS_ERRORS as exc:
        breaker.failure(exc)
        raise


def current(name: str | None = None) -> Current:
    """The configured cache (or cache ``name``) with its client and breaker, remembered
    per thread.

    The memo holds while the settings snapshot and Django's cache handler are the same
    objects (override_settings replaces either), so a hit skips the alias, handler and
    client look-ups. Raises NotRedisBackend like :func:`cache_admin.backend.client`.
    """
    now = snapshot()
    handler = caches._connections  # type: ignore[attr-defined]
    if name is not None:
        return _other(name, now, handler)
    found: Current | None = getattr(_local, "current", None)
    if found is None or found.settings is not now or found._handler is not handler:
        found = Current(now, handler)
        _local.current = found
    return found


def _other(name: str, now: CacheAdminSettings, handler: object) -> Current:
    # Another alias than the configured one (the session engine's): one memo per alias.
    memo: tuple[object, object, dict[str, Current]] | None = getattr(_local, "others", None)
    if memo is None or memo[0] is not now or memo[1] is not handler:
        memo = (now, handler, {})
        _local.others = memo
    found = memo[2].get(name)
    if found is None:
        found = memo[2][name] = Current(now, handler, name)
    return found
