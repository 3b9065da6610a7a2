from __future__ import annotations

import decimal
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches

from cache_admin import backend, cache_result, counter_flush, counters, policy, stored_keys
from cache_admin.caching import fill, link
from cache_admin.keys import digest


@pytest.fixture(autouse=True)
def _fresh_counters() -> Iterator[None]:
    counter_flush.reset_for_tests()
    yield
    counter_flush.reset_for_tests()


def raw(redis_client: redis.Redis, logical: str) -> Any:
    return redis_client.get(stored_keys.stored_key(logical))


def test_hit_returns_cached_value_and_cache_get_reads_it(cache_alias: str) -> None:
    calls: list[int] = []

    @cache_result(timeout=60, key_prefix="user_profile")
    def get_user_profile(user_id: int) -> dict[str, int]:
        calls.append(user_id)
        return {"id": user_id}

    assert get_user_profile(42) == {"id": 42}
    assert get_user_profile(42) == {"id": 42}
    assert calls == [42]
    assert get_user_profile.key_for(42) == "user_profile:42"
    assert caches[cache_alias].get("user_profile:42") == {"id": 42}


def test_same_entry_for_positional_keyword_and_default_arguments(cache_alias: str) -> None:
    calls: list[tuple[int, bool]] = []

    @cache_result(timeout=60, key_prefix="user_profile")
    def profile(user_id: int, detail: bool = False) -> str:
        calls.append((user_id, detail))
        return f"{user_id}-{detail}"

    assert profile(1) == profile(user_id=1) == profile(1, detail=False) == "1-False"
    assert calls == [(1, False)]
    assert profile.key_for(1) == profile.key_for(user_id=1) == "user_profile:1"
    assert profile(1, True) == "1-True"
    assert profile.key_for(1, True) != profile.key_for(1)
    assert calls == [(1, False), (1, True)]


def test_keys_are_canonical_and_stable_across_processes() -> None:
    @cache_result(key_prefix="search:product")
    def search(filters: dict[str, Any], page: int = 1) -> None:
        return None

    # Dict order and Decimal spelling do not matter.
    a = search.key_for({"b": decimal.Decimal("1.50"), "a": "x"}, page=2)
    b = search.key_for(page=2, filters={"a": "x", "b": decimal.Decimal("1.5")})
    assert a == b
    # Hard-coded: the same call gives the same key in any process, any Python version.
    assert digest({"filters": {"a": "x", "b": "1.5"}, "page": 2}) == "3557413a1af0b821"
    assert a == "search:product:3557413a1af0b821"
    assert search.key_for({"a": "x"}) != search.key_for({"a": "y"})


def test_bad_call_shape_is_a_clear_type_error() -> None:
    @cache_result(key_prefix="p")
    def one(x: int) -> int:
        return x

    with pytest.raises(TypeError, match="p: missing a required argument"):
        one()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="timeout"):
        cache_result(timeout="soon")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="key_prefix"):
        cache_result(key_prefix=":")


def test_none_and_empty_results_are_hits(cache_alias: str) -> None:
    calls: list[str] = []

    @cache_result(timeout=60, key_prefix="maybe")
    def maybe(kind: str) -> Any:
        calls.append(kind)
        return {"none": None, "empty": [], "zero": 0}[kind]

    for kind in ("none", "empty", "zero", "none", "empty", "zero"):
        maybe(kind)
    assert calls == ["none", "empty", "zero"]
    assert maybe("none") is None
    assert maybe("empty") == []
    assert maybe("zero") == 0


def test_exceptions_are_never_cached(cache_alias: str, redis_client: redis.Redis) -> None:
    attempts: list[int] = []

    @cache_result(timeout=60, key_prefix="flaky")
    def flaky(n: int) -> int:
        attempts.append(n)
        if len(attempts) == 1:
            raise RuntimeError("database away")
        return n * 2

    with pytest.raises(RuntimeError):
        flaky(3)
    # The lease was released: nothing is left in the key, the next call computes at once.
    assert raw(redis_client, "flaky:3") is None
    assert flaky(3) == 6
    assert flaky(3) == 6
    assert attempts == [3, 3]


def test_ttl_explicit_then_type_policy_then_cache_default(
    cache_alias: str, redis_client: redis.Redis, settings: Any
) -> None:
    @cache_result(timeout=42, key_prefix="product")
    def explicit(pk: int) -> int:
        return pk

    @cache_result(key_prefix="category")
    def typed(pk: int) -> int:
        return pk

    @cache_result(key_prefix="nothing")
    def untyped(pk: int) -> int:
        return pk

    explicit(1), typed(1), untyped(1)
    assert 40 <= redis_client.ttl(stored_keys.stored_key("product:1")) <= 42
    # category: 3600 s plus up to 20% jitter
    assert 3590 <= redis_client.ttl(stored_keys.stored_key("category:1")) <= 4320
    assert 290 <= redis_client.ttl(stored_keys.stored_key("nothing:1")) <= 300  # TIMEOUT 300

    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "JITTER": 0}

    @cache_result(key_prefix="anything", cache_type="cart")
    def cart(pk: int) -> int:
        return pk

    cart(1)
    assert 1790 <= redis_client.ttl(stored_keys.stored_key("anything:1")) <= 1800
    assert policy.ttl_for("cart") == 1800


def test_timeout_zero_computes_and_stores_nothing(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    calls: list[int] = []

    @cache_result(timeout=0, key_prefix="never")
    def never(n: int) -> int:
        calls.append(n)
        return n

    assert never(1) == never(1) == 1
    assert calls == [1, 1]
    assert raw(redis_client, "never:1") is None


def test_refresh_recomputes_and_stores(cache_alias: str) -> None:
    source = {"v": 1}

    @cache_result(timeout=60, key_prefix="refreshable")
    def value(n: int) -> int:
        return source["v"] * n

    assert value(2) == 2
    source["v"] = 5
    assert value(2) == 2
    assert value.refresh(2) == 10
    assert value(2) == 10


def test_invalidate_deletes_the_entry(cache_alias: str, redis_client: redis.Redis) -> None:
    source = {"v": 1}

    @cache_result(timeout=60, key_prefix="user_profile")
    def get_user_profile(user_id: int) -> int:
        return source["v"]

    assert get_user_profile(7) == 1
    source["v"] = 2
    assert get_user_profile.invalidate(user_id=7) == 1
    assert raw(redis_client, "user_profile:7") is None
    assert get_user_profile(7) == 2


def test_counters_per_type(cache_alias: str) -> None:
    @cache_result(timeout=60, key_prefix="product")
    def product(pk: int) -> int:
        return pk

    @cache_result(timeout=60, key_prefix="cache_admin:internal")
    def internal(pk: int) -> int:
        return pk

    product(1), product(1), product(1), product(2)
    internal(1), internal(1)
    counters.flush()
    # The package's own namespace never shows up in per-type statistics.
    assert counters.totals() == {
        "product_detail": counters.Counts(hits=2, misses=2, fills=2, absent=2)
    }


def test_reader_waits_for_the_lease_holder_and_takes_its_value(
    cache_alias: str, redis_client: redis.Redis, settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "LEASE_WAIT": 10}
    entered, release = threading.Event(), threading.Event()
    calls: list[str] = []

    @cache_result(timeout=60, key_prefix="slow")
    def slow(n: int) -> str:
        calls.append(threading.current_thread().name)
        entered.set()
        assert release.wait(10)
        return f"value-{n}"

    first: list[str] = []
    holder = threading.Thread(target=lambda: first.append(slow(1)), name="holder")
    holder.start()
    assert entered.wait(10)
    assert raw(redis_client, "slow:1").startswith(fill.LEASE_PREFIX)
    # Code that reads the same key with Django's cache API sees a miss, not an error.
    assert caches[cache_alias].get("slow:1", "absent") is None

    waiting: list[str] = []
    polled = threading.Event()
    original_read = link.Link.read

    def read_and_signal(self: link.Link, slot: fill.Slot) -> Any:
        found = original_read(self, slot)
        if threading.current_thread().name == "waiter" and found.raw is not None:
            polled.set()  # the waiter has seen the lease at least once
        return found

    link.Link.read = read_and_signal  # type: ignore[method-assign]
    try:
        waiter = threading.Thread(target=lambda: waiting.append(slow(1)), name="waiter")
        waiter.start()
        assert polled.wait(10)
        release.set()
        holder.join(10)
        waiter.join(10)
    finally:
        link.Link.read = original_read  # type: ignore[method-assign]
    assert first == waiting == ["value-1"]
    assert calls == ["holder"]  # one computation for both callers


def test_foreign_lease_past_lease_wait_computes_without_storing(
    cache_alias: str, redis_client: redis.Redis, settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "LEASE_WAIT": 0.01}
    lease = fill.LEASE_PREFIX + b"someone-else"
    redis_client.set(stored_keys.stored_key("held:1"), lease, px=60000)

    @cache_result(timeout=60, key_prefix="held")
    def held(n: int) -> int:
        return n + 1

    assert held(1) == 2
    assert raw(redis_client, "held:1") == lease  # the other fill still owns the key


def test_undecodable_value_is_recomputed_and_replaced(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    redis_client.set(stored_keys.stored_key("garbled:1"), b"\x80\x05not a pickle")

    @cache_result(timeout=60, key_prefix="garbled")
    def garbled(n: int) -> int:
        return n

    assert garbled(1) == 1
    assert caches[cache_alias].get("garbled:1") == 1


def test_unpicklable_result_is_served_and_not_stored(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    @cache_result(timeout=60, key_prefix="lock")
    def make_lock(n: int) -> Any:
        return threading.Lock()

    assert make_lock(1) is not None
    assert raw(redis_client, "lock:1") is None


def test_bare_decorator_uses_module_and_name_as_prefix(cache_alias: str) -> None:
    @cache_result
    def plain(n: int) -> int:
        return n

    assert plain(3) == 3
    assert plain.key_for(3).endswith(
        "test_bare_decorator_uses_module_and_name_as_prefix.<locals>.plain:3"
    )
    assert caches[cache_alias].get(plain.key_for(3)) == 3


def test_key_of_another_redis_type_serves_the_function(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    redis_client.hset(stored_keys.stored_key("odd:1"), "field", "value")

    @cache_result(timeout=60, key_prefix="odd")
    def odd(n: int) -> int:
        return n + 1

    assert odd(1) == 2  # WRONGTYPE is not an outage: no exception, nothing overwritten
    assert redis_client.type(stored_keys.stored_key("odd:1")) == b"hash"


def test_value_refused_by_the_server_is_served_and_leaves_no_lease(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    # Room for the lease, not for the value: the write is refused with an OOM error (on a
    # cluster, by the node of the key).
    node = backend.node_for_key(stored_keys.stored_key("huge:1")).client
    used = int(node.info("memory")["used_memory"])
    node.config_set("maxmemory-policy", "noeviction")
    node.config_set("maxmemory", used + 1024 * 1024)
    try:

        @cache_result(timeout=60, key_prefix="huge")
        def huge(n: int) -> bytes:
            return b"x" * (4 * 1024 * 1024)

        assert len(huge(1)) == 4 * 1024 * 1024
    finally:
        node.config_set("maxmemory", 0)
    assert raw(redis_client, "huge:1") is None  # the lease was released


def test_cached_method_helpers_take_the_instance(cache_alias: str) -> None:
    from tests.testapp.models import Product

    calls: list[int] = []

    class Shelf:
        def __str__(self) -> str:  # stable across instances and processes
            return "main-shelf"

        @cache_result(timeout=60, key_prefix="shelf")
        def related(self, product: Product, limit: int) -> int:
            calls.append(limit)
            return limit

    product = Product(pk=7)
    assert Shelf().related(product, 5) == Shelf().related(product, 5) == 5
    assert calls == [5]
    assert Shelf.related.invalidate(Shelf(), product, 5) == 1
    assert Shelf().related(product, limit=5) == 5
    assert calls == [5, 5]
