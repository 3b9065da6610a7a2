"""C1: a fill that started before an invalidation never lands after it.

Each test forces the interleaving: a reader thread blocks inside the cached function on an
event, after reading the data; the main thread changes the data and invalidates; then the
reader is released and finishes its fill.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.core.cache import caches

from cache_admin import backend, cache_queryset, cache_result, generations, stored_keys
from cache_admin.caching import early, fill, link, read_choice
from tests.testapp.models import Product


class BlockedReader:
    """Runs ``call`` in a thread that stops inside the cached function until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.results: list[Any] = []
        self.errors: list[BaseException] = []
        self.thread: threading.Thread | None = None

    def pause(self) -> None:
        self.entered.set()
        assert self.release.wait(10), "the test never released the reader"

    def start(self, call: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                self.results.append(call())
            except BaseException as exc:
                self.errors.append(exc)

        self.thread = threading.Thread(target=run)
        self.thread.start()
        assert self.entered.wait(10), "the reader never reached the cached function"

    def finish(self) -> Any:
        self.release.set()
        assert self.thread is not None
        self.thread.join(10)
        assert not self.thread.is_alive()
        assert not self.errors, self.errors
        return self.results[0]


def stored_value(redis_client: redis.Redis, logical: str) -> Any:
    found = redis_client.get(stored_keys.stored_key(logical))
    if found is None or found.startswith(fill.LEASE_PREFIX):
        return found
    return backend.decode(found)


@pytest.mark.parametrize("read", ["leased", "plain"])
@pytest.mark.parametrize("invalidate_with", ["cache.delete", ".invalidate()"])
def test_invalidation_during_fill_is_not_written_back(
    cache_alias: str, redis_client: redis.Redis, invalidate_with: str, read: str
) -> None:
    database = {"price": "old"}
    reader = BlockedReader()

    @cache_result(timeout=600, key_prefix="product")
    def product(pk: int) -> str:
        value = database["price"]  # the slow reader has read the old row...
        if threading.current_thread() is reader.thread:
            reader.pause()  # ...and is still working when the admin saves
        return value

    if read == "plain":  # a family whose lookups hit reads with GET, its miss leases apart
        for _ in range(100):
            product(99)
    assert read_choice.leased_read("product") is (read == "leased")
    reader.start(lambda: product(1))
    database["price"] = "new"
    if invalidate_with == "cache.delete":
        caches[cache_alias].delete("product:1")
    else:
        product.invalidate(1)

    assert reader.finish() == "old"  # the reader returns what it computed...
    assert stored_value(redis_client, "product:1") is None  # ...and does not store it
    assert product(1) == "new"
    assert stored_value(redis_client, "product:1") == "new"


def test_invalidation_during_refresh_is_not_written_back(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    database = {"price": "v1"}
    reader = BlockedReader()

    @cache_result(timeout=600, key_prefix="product")
    def product(pk: int) -> str:
        value = database["price"]
        if threading.current_thread() is reader.thread:
            reader.pause()
        return value

    assert product(2) == "v1"
    reader.start(lambda: product.refresh(2))
    database["price"] = "v2"
    product.invalidate(2)
    assert reader.finish() == "v1"
    assert stored_value(redis_client, "product:2") is None
    assert product(2) == "v2"


def test_generation_bump_during_fill_makes_the_entry_a_miss(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    database = {"featured": ["old"]}
    reader = BlockedReader()
    calls: list[list[str]] = []

    @cache_queryset(timeout=600, key_prefix="featured_products", model=Product)
    def featured() -> list[str]:
        value = list(database["featured"])
        calls.append(value)
        if threading.current_thread() is reader.thread:
            reader.pause()
        return value

    reader.start(featured)
    database["featured"] = ["new"]
    generations.bump(Product)  # what CacheInvalidator.invalidate_list_cache does
    assert reader.finish() == ["old"]
    # Whatever the reader wrote carries the old generation: it is never served.
    assert featured() == ["new"]
    assert featured() == ["new"]
    assert calls == [["old"], ["new"]]


def test_invalidation_during_early_refresh_is_not_written_back(
    cache_alias: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = {"v": "old"}
    reader = BlockedReader()

    @cache_result(timeout=600, key_prefix="reco", early_refresh=1.0)
    def reco(pk: int) -> str:
        value = database["v"]
        if threading.current_thread() is reader.thread:
            reader.pause()
        return value

    assert reco(1) == "old"
    # Force the probabilistic decision: this read refreshes ahead of expiry.
    monkeypatch.setattr(early, "should_refresh", lambda slot, pttl: True)
    reader.start(lambda: reco(1))
    database["v"] = "new"
    reco.invalidate(1)
    assert reader.finish() == "old"
    assert stored_value(redis_client, "reco:1") is None
    monkeypatch.setattr(early, "should_refresh", lambda slot, pttl: False)
    assert reco(1) == "new"


def test_a_second_reader_does_not_overwrite_a_newer_fill(
    cache_alias: str, redis_client: redis.Redis, settings: Any
) -> None:
    """The first reader's lease expires while it is stuck; a second reader fills with new
    data; the first reader's late write must not replace it."""
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "LEASE_TIMEOUT": 60, "LEASE_WAIT": 0}
    database = {"v": "old"}
    reader = BlockedReader()

    @cache_result(timeout=600, key_prefix="product")
    def product(pk: int) -> str:
        value = database["v"]
        if threading.current_thread() is reader.thread:
            reader.pause()
        return value

    reader.start(lambda: product(3))
    # Expire the stuck reader's lease now (as LEASE_TIMEOUT would), then a fresh fill.
    stored = stored_keys.stored_key("product:3")
    assert redis_client.get(stored).startswith(fill.LEASE_PREFIX)
    redis_client.delete(stored)
    database["v"] = "new"
    assert product(3) == "new"
    assert reader.finish() == "old"
    assert stored_value(redis_client, "product:3") == "new"


def test_a_stampede_computes_once(
    cache_alias: str, redis_client: redis.Redis, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight readers miss while one fill is under way: all of them get its value."""
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "LEASE_WAIT": 10}
    reader = BlockedReader()
    computed: list[str] = []

    @cache_result(timeout=600, key_prefix="category")
    def category(pk: int) -> str:
        computed.append(threading.current_thread().name)
        if threading.current_thread() is reader.thread:
            reader.pause()
        return "value"

    waiting: set[str] = set()
    all_waiting = threading.Event()
    original_read = link.Link.read

    def read_and_count(self: link.Link, slot: Any) -> Any:
        found = original_read(self, slot)
        name = threading.current_thread().name
        if name.startswith("stampede") and found.raw is not None:
            waiting.add(name)  # this reader has seen the lease and is polling
            if len(waiting) == 8:
                all_waiting.set()
        return found

    monkeypatch.setattr(link.Link, "read", read_and_count)
    reader.start(lambda: category(1))
    results: list[str] = []
    others = [
        threading.Thread(target=lambda: results.append(category(1)), name=f"stampede-{i}")
        for i in range(8)
    ]
    for thread in others:
        thread.start()
    assert all_waiting.wait(10)
    assert reader.finish() == "value"
    for thread in others:
        thread.join(10)
    assert results == ["value"] * 8
    assert len(computed) == 1
