"""The key browser's cursor token across primary nodes, exact page sizes, and ``<id>`` prefixes.

Two primaries are two real Redis servers handed to the toolkit as its primary clients (the
one-node cache is the one-node case of the same code).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from cache_admin import backend, keyspace, stored_keys
from cache_admin.keyspace import cursor
from cache_admin.testing import RedisServer, populate
from tests.keyspace_support import every_page


def stored(logical: str) -> bytes:
    return stored_keys.stored_key(logical).encode()


def walk_all(prefix: str, page_size: int, **kwargs: object) -> list[list[str]]:
    return [
        [info.logical for info in page.keys]
        for page in every_page(prefix, page_size=page_size, **kwargs)
    ]


@pytest.fixture
def two_primaries(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[redis.Redis, redis.Redis]]:
    """The test server and a second one, as the cache's primary nodes."""
    with RedisServer() as other:
        second = redis.Redis.from_url(f"{other.url}/0")
        monkeypatch.setattr(backend, "primary_clients", lambda cache=None: [redis_client, second])
        yield redis_client, second
        second.close()


def test_pages_hold_exactly_the_page_size_and_miss_nothing(
    redis_client: redis.Redis, settings: object
) -> None:
    # Small SCAN steps make pages end inside a batch: the case that overfilled pages before.
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 64}  # type: ignore[attr-defined]
    populate(redis_client, stored_keys.site_prefix() + "product:", 277)
    pages = walk_all("product:", 40)
    sizes = [len(p) for p in pages]
    assert all(size == 40 for size in sizes[:-1]) and 0 < sizes[-1] <= 40, sizes
    # SCAN's promise, kept across pages cut inside a batch: every key at least once (Redis
    # may return one twice while it rehashes right after the keys were written).
    seen = [key for page in pages for key in page]
    assert len(set(seen)) == 277 and len(seen) <= 277 + 5


def test_the_default_page_is_the_documented_100(redis_client: redis.Redis) -> None:
    populate(redis_client, stored_keys.site_prefix() + "product:", 277)
    pages = walk_all("product:", None)  # type: ignore[arg-type]
    assert [len(p) for p in pages[:2]] == [100, 100] and 77 <= len(pages[2]) <= 82
    assert len(pages) == 3 and len({key for page in pages for key in page}) == 277


@pytest.mark.parametrize(
    "token",
    ["12~00000000", "12", "12-x", "x~", "~", "12_5_zz~abc", "0" * 5000, "12~" + "f" * 8],
)
def test_a_damaged_token_is_a_message(redis_client: redis.Redis, token: str) -> None:
    with pytest.raises(ValueError, match="cursor token is not valid"):
        keyspace.scan_page("", cursor=token)


def test_a_hand_edited_token_is_refused(redis_client: redis.Redis) -> None:
    populate(redis_client, stored_keys.site_prefix() + "product:", 300)
    page = keyspace.scan_page("product:", page_size=10)
    token = page.cursor
    assert token != "0" and "~" in token
    body, check = token.split("~")
    edited = f"{body}1~{check}"
    with pytest.raises(ValueError, match="edited or cut short"):
        keyspace.scan_page("product:", cursor=edited, page_size=10)
    with pytest.raises(ValueError, match="edited or cut short"):
        keyspace.scan_page("product:", cursor=token[:-1], page_size=10)


def test_a_token_for_another_number_of_nodes_says_so() -> None:
    token = cursor.encode([cursor.NodeCursor(5), cursor.NodeCursor(done=True)])
    with pytest.raises(ValueError, match="made for 2 Redis node"):
        cursor.decode(token, 1)
    assert [n.text() for n in cursor.decode(token, 2)] == ["5", "x"]


def test_one_token_pages_through_every_primary(
    two_primaries: tuple[redis.Redis, redis.Redis], settings: object
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 50}  # type: ignore[attr-defined]
    first, second = two_primaries
    populate(first, stored_keys.site_prefix() + "a:", 150)
    populate(second, stored_keys.site_prefix() + "b:", 130)
    pages = walk_all("", 60)
    seen = [key for page in pages for key in page]
    assert len(set(seen)) == 280 and len(seen) <= 280 + 5
    assert {key.split(":")[0] for key in seen} == {"a", "b"}
    assert all(len(p) == 60 for p in pages[:-1])
    # The token carries a position for each node.
    page = keyspace.scan_page("", page_size=60)
    assert page.cursor.split("~")[0].count("-") == 1


def test_rare_keys_on_every_primary_are_found_within_the_budget(
    two_primaries: tuple[redis.Redis, redis.Redis], settings: object
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 200}  # type: ignore[attr-defined]
    first, second = two_primaries
    populate(first, stored_keys.site_prefix() + "other:", 2000)
    populate(second, stored_keys.site_prefix() + "other:", 2000)
    first.set(stored("rare:1"), b"v")
    second.set(stored("rare:2"), b"v")
    found, requests = set(), 0
    for page in every_page("rare:", budget=500):
        requests += 1
        assert page.scanned <= 500 + 200  # each request keeps its budget
        found |= {info.logical for info in page.keys}
    assert found == {"rare:1", "rare:2"} and requests > 1


def test_ids_collapse_into_one_namespace_that_opens_like_any_other(
    redis_client: redis.Redis,
) -> None:
    names = [f"product:{1000 + i}:detail" for i in range(30)]
    names += ["product:0b3e58a2-7c1d-4d6e-9a53-5f0c2b1d8e44:detail"]
    names += ["product:9f86d081884c7d659a2feaa0c55ad015:reviews:1"]  # a hex digest
    names += ["product:list:1", "product:list:2", "product:featured:x", "product:42"]
    for name in names:
        redis_client.set(stored(name), b"v")
    tree = keyspace.namespace_tree("product:")
    rows = {(c.segment, c.is_leaf): c.count for c in tree.children}
    assert rows == {
        ("<id>:", False): 32,
        ("list:", False): 2,
        ("featured:", False): 1,
        ("42", True): 1,
    }
    node = next(c for c in tree.children if c.segment == "<id>:")
    assert node.prefix == "product:<id>:"
    listed = {info.logical for info in keyspace.scan_page(node.prefix, page_size=1000).keys}
    assert listed == {
        n
        for n in names
        if n.count(":") >= 2 and not n.startswith(("product:list", "product:featured"))
    }
    below = keyspace.namespace_tree(node.prefix)
    rows = {(c.segment, c.is_leaf): c.count for c in below.children}
    assert rows == {("detail", True): 31, ("reviews:", False): 1}


def test_a_literal_angle_bracket_prefix_is_not_taken_for_an_id(redis_client: redis.Redis) -> None:
    redis_client.set(stored("tag:<b>:1"), b"v")
    redis_client.set(stored("tag:7:1"), b"v")
    assert [i.logical for i in keyspace.scan_page("tag:<b>:").keys] == ["tag:<b>:1"]
    assert [i.logical for i in keyspace.scan_page("tag:<id>:").keys] == ["tag:7:1"]
