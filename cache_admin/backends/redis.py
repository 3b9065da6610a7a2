"""``cache_admin.backends.redis.RedisCache``: Django's built-in Redis backend behind the
alias's breaker.

Put it in ``CACHES[alias]["BACKEND"]`` instead of
``django.core.cache.backends.redis.RedisCache``; the options stay the same. Give it a
``socket_timeout`` (and ``socket_connect_timeout``) in OPTIONS: without one, redis-py
waits for a hung server for ever (system check W003).
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from cache_admin.backends.fail_open import FailOpenCache

__all__ = ["RedisCache"]


class RedisCache(FailOpenCache, DjangoRedisCache):
    pass
