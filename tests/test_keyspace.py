"""Key browser toolkit: tokens, bounded SCAN pages, the namespace tree (P5, S2, S3 escaping)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import redis
from django.core.cache import BaseCache, caches

from cache_admin import backend, keyspace, stored_keys
from cache_admin.keyspace import params
from tests import redis_commands


def fill(client: redis.Redis, names: list[str], value: bytes = b"x") -> None:
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.set(name, value)
    pipe.execute()


def stored(logical: str) -> bytes:
    return stored_keys.stored_key(logical).encode()


def logicals(page: keyspace.ScanPage) -> list[str]:
    return [info.logical for info in page.keys]


@pytest.mark.parametrize(
    "raw",
    [b"testsite:1:product:1", b"\xff\xfe\x00<script>alert(1)</script>", b"a" * 3000, b"\x00"],
)
def test_tokens_round_trip_any_bytes(raw: bytes) -> None:
    token = keyspace.key_token(raw)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert keyspace.key_from_token(token) == raw


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "empty"),
        ("abc$", "unexpected characters"),
        ("a", "bad length"),
        ("YR", "not canonical"),  # decodes to b"a", whose token is "YQ"
        ("A" * 200_000, "too long"),
        ("../../etc", "unexpected characters"),
    ],
)
def test_bad_tokens_are_refused_with_a_message(token: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        keyspace.key_from_token(token)


def test_page_lists_site_keys_with_metadata(
    cache_alias: str, redis_client: redis.Redis, neighbour: BaseCache
) -> None:
    cache = caches[cache_alias]
    cache.set("product:1", {"name": "Laptop"}, timeout=600)
    cache.set("product:list:abc", [1, 2], timeout=None)
    cache.set("orphan", "x")
    cache.set("cache_admin:stats:1", 1)  # the package's own key: hidden by default
    neighbour.set("product:2", "other site")
    redis_client.hset(stored("cart:user:7"), "item", "1")

    page = keyspace.scan_page()
    by_name = {info.logical: info for info in page.keys}
    assert sorted(by_name) == ["cart:user:7", "orphan", "product:1", "product:list:abc"]
    assert page.done and page.cursor == "0" and page.next_cursor is None
    detail = by_name["product:1"]
    assert detail.stored == stored("product:1")
    assert detail.stored_text == stored_keys.stored_key("product:1")
    assert keyspace.key_from_token(detail.token) == detail.stored
    assert detail.cache_type is not None and detail.cache_type.name == "product_detail"
    assert detail.redis_type == "string"
    assert detail.ttl_state == "expires" and detail.ttl is not None and 590 < detail.ttl <= 600
    assert detail.size is not None and detail.size > 0
    assert by_name["product:list:abc"].cache_type.name == "product_list"  # type: ignore[union-attr]
    assert by_name["product:list:abc"].persistent and by_name["product:list:abc"].ttl is None
    assert by_name["orphan"].cache_type is None
    assert by_name["cart:user:7"].redis_type == "hash"

    internal = keyspace.scan_page(include_internal=True)
    assert "cache_admin:stats:1" in logicals(internal)
    assert set(logicals(keyspace.scan_page("cache_admin:"))) == {"cache_admin:stats:1"}


def test_glob_metacharacters_in_prefix_are_literal(redis_client: redis.Redis) -> None:
    names = ["a*b:1", "aXb:1", "a?b:1", "a[b]:1", "ab:1", "a\\b:1", "a[x]b:1"]
    fill(redis_client, [stored_keys.stored_key(n) for n in names])
    assert logicals(keyspace.scan_page("a*")) == ["a*b:1"]
    assert logicals(keyspace.scan_page("a?")) == ["a?b:1"]
    assert logicals(keyspace.scan_page("a[b]")) == ["a[b]:1"]
    assert logicals(keyspace.scan_page("a\\")) == ["a\\b:1"]
    assert logicals(keyspace.scan_page("a[x")) == ["a[x]b:1"]
    assert len(keyspace.scan_page("").keys) == len(names)


def test_empty_and_very_long_prefixes(redis_client: redis.Redis) -> None:
    long_name = "p" * params.MAX_PREFIX_LENGTH
    fill(redis_client, [stored_keys.stored_key(long_name + ":1"), stored_keys.stored_key("q:1")])
    assert len(keyspace.scan_page("").keys) == 2
    assert logicals(keyspace.scan_page(long_name)) == [long_name + ":1"]
    with pytest.raises(ValueError, match="at most 1000"):
        keyspace.scan_page(long_name + "p")
    with pytest.raises(ValueError, match="text"):
        keyspace.scan_page(b"bytes")  # type: ignore[arg-type]


def test_odd_key_bytes_and_markup_are_shown_as_text(redis_client: redis.Redis) -> None:
    site = stored_keys.site_prefix().encode()
    redis_client.set(site + b"bin:\xff\xfe\x01", b"v")
    redis_client.set(site + b"<script>alert(1)</script>", b"v")
    page = keyspace.scan_page()
    by_stored = {info.stored: info for info in page.keys}
    odd = by_stored[site + b"bin:\xff\xfe\x01"]
    assert odd.logical == "bin:\\xff\\xfe\x01"
    assert keyspace.key_from_token(odd.token) == site + b"bin:\xff\xfe\x01"
    # Returned as plain text: escaping is the template's job, nothing is pre-marked safe.
    assert by_stored[site + b"<script>alert(1)</script>"].logical == "<script>alert(1)</script>"


def test_empty_scan_batches_do_not_end_the_listing(redis_client: redis.Redis) -> None:
    """One rare match in 30,000 keys: most SCAN batches come back empty."""
    fill(redis_client, [stored_keys.stored_key(f"product:{i}") for i in range(30_000)])
    redis_client.set(stored("rare:needle"), b"x")
    before = redis_commands.calls(redis_client, "scan")
    page = keyspace.scan_page("rare:", page_size=10, budget=100_000)
    assert logicals(page) == ["rare:needle"]
    assert page.done and page.cursor == "0"
    assert page.calls == redis_commands.calls(redis_client, "scan") - before
    assert page.calls > 1  # empty batches were followed, not taken for the end


def test_scan_budget_bounds_the_work_and_offers_a_cursor(
    redis_client: redis.Redis, settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 500}
    fill(redis_client, [stored_keys.stored_key(f"product:{i}") for i in range(30_000)])
    before = redis_commands.calls(redis_client, "scan")
    page = keyspace.scan_page("nothing:", budget=4000, page_size=20)
    calls = redis_commands.calls(redis_client, "scan") - before
    assert page.keys == [] and not page.done and page.cursor != "0"
    assert page.scanned <= 4000
    assert calls == page.calls
    # COUNT starts at the page size and doubles up to SCAN_COUNT: 20 + 40 + ... then 500s.
    assert calls <= math.ceil(math.log2(500 / 20)) + math.ceil(4000 / 500) + 1
    # "Scan more" continues from the cursor and eventually finishes.
    cursor, rounds = page.cursor, 0
    while cursor != "0":
        page = keyspace.scan_page("nothing:", cursor=cursor, budget=4000, page_size=20)
        assert page.scanned <= 4000
        cursor, rounds = page.cursor, rounds + 1
        assert rounds < 100
    assert page.done


def test_cursor_paging_visits_every_key(redis_client: redis.Redis) -> None:
    names = [f"product:{i}" for i in range(250)]
    fill(redis_client, [stored_keys.stored_key(n) for n in names])
    seen: list[str] = []
    cursor = "0"
    for _ in range(100):
        page = keyspace.scan_page("product:", cursor=cursor, page_size=40)
        seen += logicals(page)
        cursor = page.cursor
        if page.done:
            break
    # SCAN's promise: every key present all along is returned at least once (a rehash
    # between two pages may return one twice).
    assert set(seen) == set(names)


def test_redis_type_filter(redis_client: redis.Redis) -> None:
    redis_client.set(stored("a:string"), b"1")
    redis_client.hset(stored("a:hash"), "f", "v")
    redis_client.rpush(stored("a:list"), "v")
    assert logicals(keyspace.scan_page("a:", redis_type="hash")) == ["a:hash"]
    assert logicals(keyspace.scan_page("a:", redis_type="list")) == ["a:list"]
    with pytest.raises(ValueError, match="Unknown Redis type"):
        keyspace.scan_page("a:", redis_type="nosuchtype")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cursor": "abc"}, "cursor"),
        ({"cursor": "-1"}, "cursor"),
        ({"cursor": "1.0"}, "not valid"),  # the old node.position form
        ({"cursor": "99999999999999999999"}, "not valid"),
        ({"cursor": "1" * 30}, "cursor"),
        ({"page_size": "ten"}, "page size"),
        ({"page_size": 0}, "page size"),
        ({"page_size": 1001}, "page size"),
        ({"page_size": True}, "page size"),
        ({"budget": -5}, "scan budget"),
        ({"budget": "1e9"}, "scan budget"),
    ],
)
def test_bad_paging_input_gets_a_clear_message(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        keyspace.scan_page("", **kwargs)


def test_namespace_tree_counts_children(redis_client: redis.Redis) -> None:
    names = [f"product:{i}" for i in range(30)] + [f"product:list:{i}" for i in range(5)]
    names += ["category:1", "category:2", "plainkey", "cache_admin:history"]
    fill(redis_client, [stored_keys.stored_key(n) for n in names])
    tree = keyspace.namespace_tree()
    assert tree.complete and not tree.approximate
    rows = {(c.segment, c.is_leaf): c.count for c in tree.children}
    assert rows == {("category:", False): 2, ("product:", False): 35, ("plainkey", True): 1}
    assert tree.total == 38

    sub = keyspace.namespace_tree("product:")
    rows = {(c.segment, c.is_leaf): c.count for c in sub.children}
    assert rows[("list:", False)] == 5 and rows[("0", True)] == 1
    assert {c.prefix for c in sub.children} >= {"product:list:", "product:0"}

    slashes = keyspace.namespace_tree("product", delimiter="/")
    assert [(c.segment, c.is_leaf) for c in slashes.children][:1] == [(":0", True)]


def test_namespace_tree_is_bounded_and_says_so(redis_client: redis.Redis, settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 100}
    fill(redis_client, [stored_keys.stored_key(f"product:{i}") for i in range(5000)])
    before = redis_commands.calls(redis_client, "scan")
    tree = keyspace.namespace_tree(budget=500)
    assert tree.approximate and tree.scanned <= 500
    assert redis_commands.calls(redis_client, "scan") - before <= 5
    assert 0 < tree.total < 5000
    with pytest.raises(ValueError, match="delimiter"):
        keyspace.namespace_tree(delimiter="")


def test_a_key_gone_between_scan_and_metadata_is_marked_missing(
    redis_client: redis.Redis,
) -> None:
    from cache_admin.keyspace.scan import key_infos

    redis_client.set(stored("here"), b"1")
    infos = key_infos(backend.primary_clients(), [(0, stored("here")), (0, stored("gone"))])
    assert [(i.logical, i.exists, i.ttl_state) for i in infos] == [
        ("here", True, "persistent"),
        ("gone", False, "missing"),
    ]
    assert infos[1].redis_type == "none" and infos[1].size is None


def test_scanned_count_never_exceeds_the_keyspace(redis_client: redis.Redis) -> None:
    fill(redis_client, [stored_keys.stored_key(f"product:{i}") for i in range(7)])
    before = redis_client.dbsize()
    page = keyspace.scan_page("nothing:")
    assert page.done and page.scanned == before == redis_client.dbsize() == 7
