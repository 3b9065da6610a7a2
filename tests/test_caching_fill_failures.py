"""R1 and C3 inside one fill: Redis goes away (or answers with an error) between the steps of
a miss, and the caller still gets its value, with no exception and no lease left behind.

The server is a private one that the test stops at the step it wants (a hook on the step
before, or the cached function itself), so the failure lands exactly there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.db.models import QuerySet

from cache_admin import (
    backend,
    cache_queryset,
    cache_result,
    counter_flush,
    generations,
    stored_keys,
)
from cache_admin.breaker import breaker_for
from cache_admin.caching import fill, link
from cache_admin.testing import RedisServer
from tests.testapp.models import Category, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_redis(settings: Any) -> Iterator[RedisServer]:
    server = RedisServer().start()
    settings.CACHES = {
        **settings.CACHES,
        "private": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"{server.url}/0",
            "KEY_PREFIX": "testsite",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": "private"}
    breaker_for("private").reset()
    yield server
    server.stop()
    breaker_for("private").reset()


def errors_recorded() -> int:
    return counter_flush.pending().get("_untyped:errors", 0)


def test_redis_gone_while_the_value_is_computed(private_redis: RedisServer) -> None:
    calls = []

    @cache_result(timeout=60, key_prefix="midway")
    def midway(n: int) -> int:
        calls.append(n)
        private_redis.stop()  # the lease is taken; the write of the value will fail
        return n * 2

    assert midway(4) == 8
    assert calls == [4]
    assert errors_recorded() >= 1


def test_redis_gone_between_the_lease_and_the_generation_tokens(
    private_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A queryset's first miss takes its lease, then creates the model's token before
    # computing: Redis is gone by then.
    Category.objects.create(name="Laptops", slug="laptops")
    acquire = link.Link.acquire

    def acquire_then_lose_redis(self: link.Link, expected: str, lease: bytes) -> bool:
        taken = acquire(self, expected, lease)
        private_redis.stop()
        return taken

    monkeypatch.setattr(link.Link, "acquire", acquire_then_lose_redis)

    @cache_queryset(timeout=60, key_prefix="all_categories")
    def all_categories() -> QuerySet[Category]:
        return Category.objects.all()

    assert [c.slug for c in all_categories()] == ["laptops"]
    assert errors_recorded() >= 1


def test_redis_gone_between_the_read_and_the_lease_over_a_stale_entry(
    private_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A value this slot cannot serve is replaced through a compare-and-set of the lease:
    # Redis goes away between the read that found it and that step.
    with redis.Redis.from_url(f"{private_redis.url}/0") as client:
        client.set(stored_keys.stored_key("unleased:2"), b"\x80\x05not a pickle")
    read = link.Link.read

    def read_then_lose_redis(self: link.Link, slot: link.Slot) -> Any:
        found = read(self, slot)
        assert found.lease is None
        private_redis.stop()
        return found

    monkeypatch.setattr(link.Link, "read", read_then_lose_redis)

    @cache_result(timeout=60, key_prefix="unleased")
    def unleased(n: int) -> int:
        return n * 3

    assert unleased(2) == 6
    assert errors_recorded() >= 1


def test_a_queryset_entry_without_its_model_tokens_is_a_miss(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    # A value written under the entry's key by something else than the queryset pattern
    # (no (tokens, rows) envelope) is not served: the rows are read again and stored.
    Category.objects.create(name="Laptops", slug="laptops")

    @cache_queryset(timeout=60, key_prefix="bare_categories")
    def bare_categories() -> QuerySet[Category]:
        return Category.objects.all()

    bare_categories()
    [key] = redis_client.scan_iter(match="*bare_categories*")
    redis_client.set(key, backend.encode(["not", "an", "envelope"]))
    assert [c.slug for c in bare_categories()] == ["laptops"]
    assert isinstance(backend.decode(redis_client.get(key)), tuple)  # stored again, enveloped


def test_a_generation_key_turned_into_another_type_mid_fill_leaves_no_lease(
    cache_alias: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between the lease and the creation of the model's token, the token's key becomes a
    # hash: the server answers WRONGTYPE, and the fill gives its lease back at once instead
    # of leaving it for LEASE_TIMEOUT.
    Product.objects.create(name="P", slug="p", category=Category.objects.create(slug="c"))
    token_key = stored_keys.stored_key(generations.key(Product))
    acquire = link.Link.acquire

    def acquire_then_break_the_token(self: link.Link, expected: str, lease: bytes) -> bool:
        taken = acquire(self, expected, lease)
        redis_client.delete(token_key)
        redis_client.hset(token_key, "not", "a token")
        return taken

    monkeypatch.setattr(link.Link, "acquire", acquire_then_break_the_token)

    @cache_queryset(timeout=60, key_prefix="every_product")
    def every_product() -> QuerySet[Product]:
        return Product.objects.all()

    assert [p.slug for p in every_product()] == ["p"]
    entries = list(redis_client.scan_iter(match="*every_product*"))
    assert entries == []  # neither a value nor a lease


def test_a_lease_taken_between_the_read_and_ours_makes_this_caller_wait(
    cache_alias: str, redis_client: redis.Redis, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The read finds a value it cannot serve; another process's miss replaces it with its
    # lease before this caller's compare-and-set: this caller waits (LEASE_WAIT) for that
    # fill, then computes without storing over the other lease.
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "LEASE_WAIT": 0.01}
    theirs = fill.LEASE_PREFIX + b"another-process"
    redis_client.set(stored_keys.stored_key("contested:1"), b"\x80\x05not a pickle")
    read = link.Link.read

    def read_then_lose_the_race(self: link.Link, slot: link.Slot) -> Any:
        found = read(self, slot)
        redis_client.set(self.stored, theirs, px=60_000)
        return found

    monkeypatch.setattr(link.Link, "read", read_then_lose_the_race)

    @cache_result(timeout=60, key_prefix="contested")
    def contested(n: int) -> int:
        return n + 1

    assert contested(1) == 2
    assert redis_client.get(stored_keys.stored_key("contested:1")) == theirs


def test_refresh_on_a_cache_that_is_not_redis_computes(settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": "locmem"}
    assert fill.refresh(link.Slot("anything:1"), lambda: 7) == 7
