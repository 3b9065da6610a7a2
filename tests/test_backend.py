from __future__ import annotations

from typing import Any

import pytest
import redis
from django.core.cache import caches

from cache_admin import backend


def test_both_backends_reach_the_session_redis(cache_alias: str, redis_client: redis.Redis) -> None:
    cache = caches[cache_alias]
    assert backend.get_cache() is cache
    cache.set("product:1", {"name": "Laptop"})
    stored = backend.stored_key("product:1")
    assert redis_client.exists(stored) == 1
    assert backend.decode(redis_client.get(stored)) == {"name": "Laptop"}
    assert backend.encode({"name": "Laptop"}) == redis_client.get(stored)
    assert backend.logical_key(stored) == "product:1"
    assert backend.logical_key(stored.encode()) == "product:1"


@pytest.mark.parametrize("value", [7, -3, "text", b"bytes", None, [1, {"a": (2, 3)}], 10**30])
def test_encode_writes_what_the_backend_reads(cache_alias: str, value: object) -> None:
    client = backend.client()
    client.set(backend.stored_key("v"), backend.encode(value))
    assert caches[cache_alias].get("v", default="missing") == value
    caches[cache_alias].set("w", value)
    assert backend.decode(client.get(backend.stored_key("w"))) == value


def test_the_site_prefix_and_logical_keys(cache_alias: str, settings: Any) -> None:
    prefix = f"{settings.CACHES[cache_alias]['KEY_PREFIX']}:1:"
    assert backend.site_prefix() == prefix
    assert backend.stored_key("cart:user:7") == prefix + "cart:user:7"
    assert backend.logical_key(prefix + "a:b") == "a:b"
    assert backend.logical_key("neighbour:1:a:b") is None
    assert backend.logical_key(prefix.replace(":1:", ":2:") + "a") is None
    assert backend.logical_key(b"\xff\xfe") is None
    assert backend.default_timeout() == 300


def test_a_neighbour_site_has_its_own_prefix() -> None:
    assert backend.site_prefix(caches["neighbour"]) == "neighbour:1:"
    assert backend.logical_key("testsite:1:x", caches["neighbour"]) is None


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


def test_glob_escape_matches_only_the_literal_text(redis_client: redis.Redis) -> None:
    for key in ("a*b", "aXb", "a?b", "a[b]", "ab", "a\\b", "a*bc"):
        redis_client.set(key, b"1")
    for literal in ("a*b", "a?b", "a[b]", "a\\b"):
        pattern = backend.glob_escape(literal)
        found = {k.decode() for k in redis_client.scan_iter(match=pattern, count=1000)}
        assert found == {literal}
    prefix = {k.decode() for k in redis_client.scan_iter(backend.glob_escape("a*b") + "*")}
    assert prefix == {"a*b", "a*bc"}


def test_current_follows_the_configured_alias(cache_alias: str) -> None:
    current = backend.current()
    assert current.alias == cache_alias
    assert current.cache is caches[cache_alias]
    assert backend.current() is current  # remembered while the settings stay the same
    assert current.stored_key("product:1") == caches[cache_alias].make_key("product:1")
    current.client.set(current.stored_key("x"), b"1")
    assert caches[cache_alias].get("x") == 1


def test_current_uses_a_custom_key_function(settings: Any) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            "KEY_FUNCTION": "tests.test_backend.reversed_key",
        },
    }
    assert backend.current().stored_key("abc") == "cba|testsite|1"


def reversed_key(key: str, key_prefix: str, version: int) -> str:
    return f"{key[::-1]}|{key_prefix}|{version}"


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
    raw = backend.client().get(backend.stored_key("v"))
    assert backend.decode(raw) == value
    backend.client().set(backend.stored_key("w"), backend.encode(value))
    assert cache.get("w") == value
    assert backend.decode(b"12") == 12
