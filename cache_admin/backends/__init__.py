"""Cache backends whose every call goes through the circuit breaker of their alias (R1).

    CACHES = {"default": {"BACKEND": "cache_admin.backends.django_redis.RedisCache", ...}}
    CACHES = {"default": {"BACKEND": "cache_admin.backends.redis.RedisCache", ...}}

Django's own uses of the cache (sessions, ``cache_page``, ``{% cache %}``) and third-party
code then fail open as the toolkit does: see ``fail_open`` and docs/outages.md.
"""

from __future__ import annotations

from cache_admin.backends.fail_open import CacheUnavailable

__all__ = ["CacheUnavailable"]
