"""Key detail of every Redis type, paging, key actions, S2 refusal, Redis down."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches

from cache_admin import backend, decoding, keyspace, stored_keys
from cache_admin.testing import free_port


def stored(logical: str) -> bytes:
    return stored_keys.stored_key(logical).encode()


def test_string_value_is_decoded(cache_alias: str) -> None:
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    caches[cache_alias].set("product:1", {"name": "<script>x</script>", "when": when})
    detail = keyspace.key_detail(stored("product:1"))
    assert detail is not None and detail.value is not None
    assert detail.redis_type == "string" and detail.items == []
    assert detail.value.kind == "pickle"
    assert "'<script>x</script>'" in detail.value.text
    assert "datetime.datetime(2026, 1, 2, 3, 4, 5" in detail.value.text
    assert detail.length == detail.value.size


def test_integer_values_as_both_backends_store_them(cache_alias: str) -> None:
    caches[cache_alias].set("cart:user:1", 42)
    detail = keyspace.key_detail(stored("cart:user:1"))
    assert detail is not None and detail.value is not None
    assert (detail.value.kind, detail.value.text) == ("int", "42")


def test_hash_pages_follow_the_cursor(redis_client: redis.Redis) -> None:
    key = stored("h:big")
    redis_client.hset(key, mapping={f"f{i}": f"v{i}" for i in range(500)})
    seen: dict[str, str] = {}
    page, cursor = 0, None
    for _ in range(200):
        detail = keyspace.key_detail(key, page=page, page_size=50, cursor=cursor)
        assert detail is not None and detail.length == 500
        seen.update({item.key: item.value.text for item in detail.items})  # type: ignore[misc,union-attr]
        if detail.next_page is None:
            break
        page, cursor = detail.next_page, detail.next_cursor
    assert seen == {f"f{i}": f"v{i}" for i in range(500)}


def test_list_and_zset_pages_by_index(redis_client: redis.Redis) -> None:
    redis_client.rpush(stored("l"), *[f"item{i}" for i in range(120)])
    redis_client.zadd(stored("z"), {f"m{i}": i / 2 for i in range(120)})
    first = keyspace.key_detail(stored("l"), page=0, page_size=50)
    last = keyspace.key_detail(stored("l"), page=2, page_size=50)
    assert first is not None and last is not None
    assert [i.key for i in first.items][:2] == ["0", "1"] and first.next_page == 1
    assert [i.value.text for i in last.items] == [f"item{i}" for i in range(100, 120)]  # type: ignore[union-attr]
    assert last.next_page is None and last.length == 120
    zpage = keyspace.key_detail(stored("z"), page=1, page_size=50)
    assert zpage is not None and zpage.items[0].score == 25.0
    assert zpage.items[0].value.text == "m50"  # type: ignore[union-attr]
    beyond = keyspace.key_detail(stored("l"), page=99, page_size=50)
    assert beyond is not None and beyond.items == [] and beyond.next_page is None


def test_set_and_stream(redis_client: redis.Redis) -> None:
    redis_client.sadd(stored("s"), *[f"m{i}" for i in range(300)])
    members: set[str] = set()
    page, cursor = 0, None
    for _ in range(100):
        detail = keyspace.key_detail(stored("s"), page=page, page_size=40, cursor=cursor)
        assert detail is not None
        members |= {item.value.text for item in detail.items}  # type: ignore[union-attr]
        if detail.next_page is None:
            break
        page, cursor = detail.next_page, detail.next_cursor
    assert members == {f"m{i}" for i in range(300)}

    ids = [redis_client.xadd(stored("x"), {"n": str(i), "<b>": "v"}) for i in range(25)]
    first = keyspace.key_detail(stored("x"), page_size=10)
    assert first is not None and first.length == 25 and len(first.items) == 10
    assert first.items[0].key == ids[0].decode()
    assert [(f, v.text) for f, v in first.items[0].fields] == [("n", "0"), ("<b>", "v")]
    rest = keyspace.key_detail(stored("x"), page=2, page_size=10, cursor=ids[19].decode())
    assert rest is not None and [i.key for i in rest.items] == [i.decode() for i in ids[20:]]
    assert rest.next_page is None
    with pytest.raises(ValueError, match="stream position"):
        keyspace.key_detail(stored("x"), cursor="1-2; DROP")


def test_large_string_is_previewed_with_its_size(redis_client: redis.Redis) -> None:
    big = b"y" * (decoding.MAX_DECODE_BYTES + 10)
    redis_client.set(stored("big"), big)
    detail = keyspace.key_detail(stored("big"))
    assert detail is not None and detail.value is not None
    assert detail.length == len(big) and detail.value.size == len(big)
    assert detail.value.kind == "preview" and detail.value.truncated
    assert len(detail.value.text) <= decoding.DEFAULT_LIMIT


def test_deleted_key_from_a_stale_link_is_none(cache_alias: str) -> None:
    caches[cache_alias].set("product:9", "x")
    token = keyspace.scan_page("product:").keys[0].token
    key = keyspace.key_from_token(token)
    assert keyspace.delete_key(key) is True
    assert keyspace.delete_key(key) is False
    assert keyspace.key_detail(key) is None
    assert keyspace.set_ttl(key, 60) is False


def test_set_and_remove_ttl(cache_alias: str, redis_client: redis.Redis) -> None:
    caches[cache_alias].set("product:5", "x", timeout=100)
    key = stored("product:5")
    assert keyspace.set_ttl(key, 3600) is True
    assert 3590 < redis_client.ttl(key) <= 3600
    assert keyspace.set_ttl(key, None) is True
    assert redis_client.ttl(key) == -1
    assert keyspace.set_ttl(key, None) is True  # already persistent: still there
    for bad in (0, -1, "abc", 10**9, True, 1.5):
        with pytest.raises(ValueError, match="TTL"):
            keyspace.set_ttl(key, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("action", ["detail", "delete", "ttl"])
def test_keys_outside_the_site_prefix_are_refused(action: str, redis_client: redis.Redis) -> None:
    caches["neighbour"].set("product:1", "theirs")
    caches["builtin"].set("product:1", "also theirs")  # another KEY_PREFIX on the same db
    redis_client.set(b"bare-key", b"x")
    for key in (
        caches["neighbour"].make_key("product:1").encode(),
        caches["builtin"].make_key("product:1").encode(),
        b"bare-key",
        b"testsite:2:product:1",  # another version of this site's prefix
    ):
        with pytest.raises(keyspace.OutsideNamespace, match="outside this site"):
            if action == "detail":
                keyspace.key_detail(key)
            elif action == "delete":
                keyspace.delete_key(key)
            else:
                keyspace.set_ttl(key, 5)
    assert caches["neighbour"].get("product:1") == "theirs"
    assert redis_client.ttl(b"bare-key") == -1


@pytest.fixture
def redis_down(settings: Any) -> Iterator[str]:
    """The configured alias points at a port where nothing listens."""
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "KEY_PREFIX": "testsite",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        },
    }
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": "down"}
    yield "down"
    caches["down"].close()


def test_redis_down_gives_a_readable_error(redis_down: str) -> None:
    for call in (
        lambda: keyspace.scan_page(),
        lambda: keyspace.namespace_tree(),
        lambda: keyspace.key_detail(b"testsite:1:product:1"),
        lambda: keyspace.delete_key(b"testsite:1:product:1"),
    ):
        with pytest.raises(keyspace.RedisUnavailable, match="unreachable") as caught:
            call()
        assert isinstance(caught.value, backend.REDIS_ERRORS)
