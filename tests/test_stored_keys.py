from __future__ import annotations

from typing import Any

import redis
from django.core.cache import caches

from cache_admin import stored_keys


def test_the_site_prefix_and_logical_keys(cache_alias: str, settings: Any) -> None:
    prefix = f"{settings.CACHES[cache_alias]['KEY_PREFIX']}:1:"
    assert stored_keys.site_prefix() == prefix
    assert stored_keys.stored_key("cart:user:7") == prefix + "cart:user:7"
    assert stored_keys.logical_key(prefix + "a:b") == "a:b"
    assert stored_keys.logical_key("neighbour:1:a:b") is None
    assert stored_keys.logical_key(prefix.replace(":1:", ":2:") + "a") is None
    assert stored_keys.logical_key(b"\xff\xfe") is None


def test_a_neighbour_site_has_its_own_prefix() -> None:
    assert stored_keys.site_prefix(caches["neighbour"]) == "neighbour:1:"
    assert stored_keys.logical_key("testsite:1:x", caches["neighbour"]) is None


def test_glob_escape_matches_only_the_literal_text(redis_client: redis.Redis) -> None:
    for key in ("a*b", "aXb", "a?b", "a[b]", "ab", "a\\b", "a*bc"):
        redis_client.set(key, b"1")
    for literal in ("a*b", "a?b", "a[b]", "a\\b"):
        pattern = stored_keys.glob_escape(literal)
        found = {k.decode() for k in redis_client.scan_iter(match=pattern, count=1000)}
        assert found == {literal}
    prefix = {k.decode() for k in redis_client.scan_iter(stored_keys.glob_escape("a*b") + "*")}
    assert prefix == {"a*b", "a*bc"}
