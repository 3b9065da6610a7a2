from __future__ import annotations

from typing import Any

import pytest
import redis
from django.core.cache import caches

from cache_admin import backend, stored_keys


def test_both_backends_reach_the_session_redis(cache_alias: str, redis_client: redis.Redis) -> None:
    cache = caches[cache_alias]
    assert backend.get_cache() is cache
    cache.set("product:1", {"name": "Laptop"})
    stored = stored_keys.stored_key("product:1")
    assert redis_client.exists(stored) == 1
    assert backend.decode(redis_client.get(stored)) == {"name": "Laptop"}
    assert backend.encode({"name": "Laptop"}) == redis_client.get(stored)
    assert stored_keys.logical_key(stored) == "product:1"
    assert stored_keys.logical_key(stored.encode()) == "product:1"


@pytest.mark.parametrize("value", [7, -3, "text", b"bytes", None, [1, {"a": (2, 3)}], 10**30])
def test_encode_writes_what_the_backend_reads(cache_alias: str, value: object) -> None:
    client = backend.client()
    client.set(stored_keys.stored_key("v"), backend.encode(value))
    assert caches[cache_alias].get("v", default="missing") == value
    caches[cache_alias].set("w", value)
    assert backend.decode(client.get(stored_keys.stored_key("w"))) == value


def test_the_default_timeout(cache_alias: str) -> None:
    assert backend.default_timeout() == 300


def test_kinds_of_cache() -> None:
    assert backend.kind(caches["default"]) == backend.DJANGO_REDIS
    assert backend.kind(caches["builtin"]) == backend.DJANGO_BUILTIN
    assert backend.kind(caches["locmem"]) is None
    assert backend.check_alias("default") is None
    assert backend.check_alias("builtin") is None
    assert "not Redis" in str(backend.check_alias("locmem"))
    assert backend.check_alias("nowhere") == "CACHES has no alias 'nowhere'"


def test_a_subclass_of_a_redis_backend_is_recognised() -> None:
    from django_redis.cache import RedisCache

    class SiteCache(RedisCache):  # type: ignore[misc]
        pass

    cache = SiteCache("redis://127.0.0.1:1/0", {})
    assert backend.kind(cache) == backend.DJANGO_REDIS


def test_no_client_for_a_cache_that_is_not_redis(settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": "locmem"}
    with pytest.raises(backend.NotRedisBackend, match="not Redis"):
        backend.client()
    with pytest.raises(backend.NotRedisBackend):
        backend.encode(1)


def test_primary_clients_cover_the_server(cache_alias: str, redis_client: redis.Redis) -> None:
    markers = [f"marker:{n}" for n in range(30)]  # on every primary of a cluster
    for marker in markers:
        redis_client.set(marker, b"1")
    primaries = backend.primary_clients()
    assert len(primaries) == (3 if cache_alias.startswith("cluster") else 1)
    found = [{key.decode() for key in primary.scan_iter(match="marker:*")} for primary in primaries]
    assert sorted(key for keys in found for key in keys) == sorted(markers)  # each on one


@pytest.mark.parametrize(
    "options",
    [
        {"COMPRESSOR": "django_redis.compressors.zlib.ZlibCompressor"},
        {"SERIALIZER": "django_redis.serializers.json.JSONSerializer"},
        {"PICKLE_VERSION": 1},
    ],
    ids=["zlib", "json", "pickle-protocol-1"],
)
def test_decode_follows_the_configured_serializer(settings: Any, options: dict[str, Any]) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            "OPTIONS": {**settings.CACHES["default"]["OPTIONS"], **options},
        },
    }
    cache = caches["default"]
    value = {"name": "Laptop", "tags": ["a", "b"], "bio": "x" * 300}
    cache.set("v", value)
    raw = backend.client().get(stored_keys.stored_key("v"))
    assert backend.decode(raw) == value
    backend.client().set(stored_keys.stored_key("w"), backend.encode(value))
    assert cache.get("w") == value
    assert backend.decode(b"12") == 12
