from __future__ import annotations

import redis
from django.core.cache import caches

from cache_admin import backend


def test_both_backends_reach_the_session_redis(cache_alias: str, redis_client: redis.Redis) -> None:
    cache = caches[cache_alias]
    cache.set("product:1", {"name": "Laptop"})
    stored = backend.stored_key("product:1")
    assert redis_client.exists(stored) == 1
    assert backend.decode(redis_client.get(stored)) == {"name": "Laptop"}
    assert backend.encode({"name": "Laptop"}) == redis_client.get(stored)
    assert backend.logical_key(stored) == "product:1"
