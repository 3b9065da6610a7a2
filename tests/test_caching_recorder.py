"""The per-request record of read-through calls (what the debug-toolbar panel shows): each
outcome and miss reason on real Redis, one record per context, nothing kept without one."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from cache_admin import breaker, cache_queryset, cache_result, generations, stored_keys
from cache_admin.caching import early, link, recorder
from tests.test_caching_race import BlockedReader
from tests.testapp.models import Product


@cache_result(timeout=600, key_prefix="category")
def category(pk: int) -> str:
    return f"category {pk}"


def test_without_a_record_nothing_is_kept() -> None:
    assert recorder.active == 0
    assert category(1) == "category 1"
    with recorder.recording() as calls:
        assert recorder.active == 1
    assert calls == []
    assert recorder.active == 0


def test_a_miss_then_a_hit(cache_alias: str) -> None:
    with recorder.recording() as calls:
        category(1)
        category(1)
    miss, hit = calls
    assert (miss.key, miss.cache_type, miss.outcome, miss.reason) == (
        "category:1",
        "category",
        recorder.MISS,
        recorder.ABSENT,
    )
    assert miss.computed and miss.filled and not miss.errors
    assert miss.total_ms >= miss.compute_ms > 0
    assert (hit.outcome, hit.reason, hit.computed, hit.filled) == (recorder.HIT, "", False, False)
    assert hit.total_ms > 0


@pytest.mark.django_db
def test_a_list_invalidated_by_its_generation() -> None:
    @cache_queryset(timeout=600, key_prefix="product:list", model=Product)
    def products(page: int) -> Any:
        return Product.objects.order_by("pk")

    products(1)
    generations.bump(Product)
    with recorder.recording() as calls:
        products(1)
    (call,) = calls
    assert (call.cache_type, call.outcome, call.reason) == (
        "product_list",
        recorder.MISS,
        recorder.INVALIDATED,
    )
    assert call.filled


def test_a_lease_wait_served_by_the_other_fill(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One thread fills (held inside its function); a recorded lookup finds the lease, waits,
    and gets the other fill's value without computing."""
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "LEASE_WAIT": 10}
    filler = BlockedReader()
    computed: list[str] = []

    @cache_result(timeout=600, key_prefix="product")
    def product(pk: int) -> str:
        computed.append(threading.current_thread().name)
        if threading.current_thread() is filler.thread:
            filler.pause()
        return "value"

    saw_lease = threading.Event()
    original_read = link.Link.read

    def read(self: link.Link, slot: Any) -> Any:
        found = original_read(self, slot)
        if threading.current_thread().name == "waiter" and found.raw is not None:
            saw_lease.set()
        return found

    monkeypatch.setattr(link.Link, "read", read)
    filler.start(lambda: product(7))
    recorded: list[recorder.Call] = []

    def wait() -> None:
        with recorder.recording() as calls:
            product(7)
        recorded.extend(calls)

    waiter = threading.Thread(target=wait, name="waiter")
    waiter.start()
    assert saw_lease.wait(10)
    assert filler.finish() == "value"
    waiter.join(10)
    (call,) = recorded
    assert (call.outcome, call.reason, call.computed, call.filled) == (
        recorder.MISS,
        recorder.LEASE_WAIT,
        False,
        False,
    )
    assert call.wait_ms > 0
    assert computed == [filler.thread.name]  # type: ignore[union-attr]


def test_redis_unreachable_is_an_error_and_a_computed_value(redis_down: None) -> None:
    with recorder.recording() as calls:
        assert category(2) == "category 2"
    (call,) = calls
    assert (call.outcome, call.errors, call.computed, call.filled) == (
        recorder.UNREACHABLE,
        1,
        True,
        False,
    )
    breaker.reset_all()


def test_lookups_inside_a_cached_function_are_calls_of_their_own() -> None:
    @cache_result(timeout=600, key_prefix="product")
    def product(pk: int) -> str:
        return category(pk) + " product"

    with recorder.recording() as calls:
        product(3)
    outer, inner = calls
    assert (outer.key, outer.outcome, outer.filled) == ("product:3", recorder.MISS, True)
    assert (inner.key, inner.outcome, inner.filled) == ("category:3", recorder.MISS, True)
    assert outer.compute_ms >= inner.total_ms
    assert (outer.depth, inner.depth) == (0, 1)


def test_session_keys_are_cut_short() -> None:
    @cache_result(timeout=600, key_prefix="session")
    def session(token: str) -> str:
        return "data"

    with recorder.recording() as calls:
        session("abcdefghsecret")
    assert calls[0].key == "session:abcd..."


def test_each_thread_sees_its_own_calls_and_others_record_nothing() -> None:
    """Two threads record at once, a third does not: no call lands in the wrong record."""
    both_open = threading.Barrier(3)
    done = threading.Barrier(3)
    records: dict[str, list[str]] = {}

    def request(name: str, pk: int, record: bool) -> None:
        if record:
            token = recorder.start()
        both_open.wait(10)
        category(pk)
        category(pk)
        done.wait(10)
        if record:
            records[name] = [call.key for call in recorder.stop(token)]

    threads = [
        threading.Thread(target=request, args=("a", 1, True)),
        threading.Thread(target=request, args=("b", 2, True)),
        threading.Thread(target=request, args=("c", 3, False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert records == {"a": ["category:1"] * 2, "b": ["category:2"] * 2}
    assert recorder.active == 0


def test_async_tasks_and_their_sync_views_record_apart() -> None:
    """Under ASGI a sync view runs in a thread through sync_to_async, which copies the
    request's context: its calls land in its own request's record."""

    async def request(pk: int) -> list[str]:
        with recorder.recording() as calls:
            await sync_to_async(category)(pk)
            await asyncio.sleep(0)
            await sync_to_async(category)(pk)
        return [call.key for call in calls]

    async def both() -> list[list[str]]:
        return list(await asyncio.gather(request(1), request(2)))

    assert asyncio.run(both()) == [["category:1"] * 2, ["category:2"] * 2]


def test_a_record_closed_from_another_context_still_closes() -> None:
    token = recorder.start()
    finished: list[list[recorder.Call]] = []
    thread = threading.Thread(target=lambda: finished.append(recorder.stop(token)))
    thread.start()
    thread.join(10)
    assert finished == [[]]
    assert recorder.active == 0
    recorder._calls.set(None)


def test_an_unreadable_value_is_a_miss_of_its_own(redis_client: Any) -> None:
    redis_client.set(stored_keys.stored_key("category:5"), b"\x80\x05not a pickle")
    with recorder.recording() as calls:
        assert category(5) == "category 5"
    (call,) = calls
    assert (call.outcome, call.reason, call.filled) == (recorder.MISS, recorder.UNREADABLE, True)


def test_a_refresh_is_recorded_as_one(cache_alias: str) -> None:
    with recorder.recording() as calls:
        category.refresh(6)
    (call,) = calls
    assert (call.outcome, call.computed, call.filled) == (recorder.REFRESH, True, True)


def test_a_cache_that_is_not_redis_computes_uncached(settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": "locmem"}
    with recorder.recording() as calls:
        category(8)
        category.refresh(8)
    assert [(call.outcome, call.computed, call.filled) for call in calls] == [
        (recorder.UNCACHED, True, False)
    ] * 2


def test_a_hit_refreshed_ahead_of_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    @cache_result(timeout=600, key_prefix="reco", early_refresh=1.0)
    def reco(pk: int) -> str:
        return "fresh"

    reco(1)
    monkeypatch.setattr(early, "should_refresh", lambda slot, pttl: True)
    with recorder.recording() as calls:
        assert reco(1) == "fresh"
    (call,) = calls
    assert (call.outcome, call.reason, call.computed, call.filled) == (
        recorder.EARLY_REFRESH,
        "",
        True,
        True,
    )
