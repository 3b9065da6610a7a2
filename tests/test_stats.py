"""Monitoring figures: INFO status, hit-rate levels, shared history, per-type rows."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches

from cache_admin import backend, breaker, counter_flush, counters, policy, stats, stored_keys
from cache_admin.models import TTLOverride
from cache_admin.stats import timeline
from cache_admin.testing import free_port


@pytest.fixture(autouse=True)
def _no_pending_counts() -> Iterator[None]:
    counter_flush.reset_for_tests()
    yield
    counter_flush.reset_for_tests()


@pytest.mark.parametrize(
    ("rate", "level"),
    [
        (0.95, "target"),
        (0.9001, "target"),
        (0.90, "acceptable"),
        (0.75, "acceptable"),
        (0.70, "poor"),
        (0.0, "poor"),
        (None, None),
    ],
)
def test_hit_rate_levels_follow_the_spec(rate: float | None, level: str | None) -> None:
    assert stats.hit_rate_level(rate) == level


def test_server_status_reports_info_figures(cache_alias: str, redis_client: redis.Redis) -> None:
    cache = caches[cache_alias]
    for i in range(10):
        cache.set(f"product:{i}", i)
    for i in range(10):
        cache.get(f"product:{i}")
    cache.get("product:missing")
    status = stats.server_status()
    assert status.connected and status.error is None
    assert status.nodes == len(backend.primary_clients())  # a cluster's primaries, summed
    assert status.version == redis_client.info()["redis_version"]
    assert status.uptime_seconds is not None and status.uptime_seconds >= 0
    assert status.used_memory and status.used_memory > 0
    assert status.eviction_policy
    assert status.keys_per_db["db0"] >= 10 and status.total_keys >= 10
    assert status.keyspace_hits is not None and status.keyspace_hits >= 10
    assert status.keyspace_misses is not None and status.keyspace_misses >= 1
    assert status.hit_rate is not None and 0 < status.hit_rate < 1
    assert status.hit_rate_level == stats.hit_rate_level(status.hit_rate)
    for name in ("ops_per_sec", "evicted_keys", "expired_keys", "connected_clients"):
        assert isinstance(getattr(status, name), int)
    assert status.fragmentation is not None


def test_memory_percentage_with_maxmemory(redis_client: redis.Redis) -> None:
    redis_client.config_set("maxmemory", 100 * 1024 * 1024)
    try:
        status = stats.server_status()
    finally:
        redis_client.config_set("maxmemory", 0)
    assert status.maxmemory == 100 * 1024 * 1024
    assert status.memory_percent is not None and 0 < status.memory_percent < 100
    assert stats.server_status().maxmemory is None  # 0: no limit


@pytest.fixture
def redis_down(settings: Any) -> Iterator[str]:
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "KEY_PREFIX": "testsite",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": "down"}
    yield "down"
    caches["down"].close()


@pytest.mark.django_db
def test_redis_down_is_reported_not_raised(redis_down: str) -> None:
    status = stats.server_status()
    assert status.connected is False and status.error and "unreachable" in status.error
    assert status.hit_rate is None and status.keys_per_db == {}
    for _ in range(5):  # the breaker opens: still a clean answer, now without waiting
        assert stats.server_status().connected is False
    assert breaker.breaker_for(redis_down).state != breaker.CLOSED
    assert "circuit breaker" in (stats.server_status().error or "")
    rows = stats.type_rows()  # the policy is still shown; figures are unknown
    assert len(rows) == 7 and all(r.recent is None and r.key_count is None for r in rows)
    with pytest.raises(redis.exceptions.ConnectionError):
        stats.history()


def test_sampling_is_throttled_across_callers() -> None:
    barrier = threading.Barrier(8)
    results: list[Any] = []

    def sample() -> None:
        barrier.wait()
        results.append(stats.sample())

    threads = [threading.Thread(target=sample) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([r for r in results if r is not None]) == 1
    assert len(stats.history()) == 1


def test_history_fills_without_anyone_on_the_dashboard(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "HISTORY_SAMPLING": True,
        "STATS_FLUSH_INTERVAL": 0.05,
    }
    monkeypatch.setattr(timeline, "_last_background_try", 0.0)
    assert timeline.history() == []
    # Any process that records statistics runs the counters thread, which samples.
    counters.record("product_detail", "hits")
    finished = threading.Event()
    for _ in range(200):
        if timeline.history():
            finished.set()
            break
        finished.wait(0.05)
    assert finished.is_set(), "the counters thread never sampled the history"


def test_history_is_shared_and_computes_interval_rates(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    first = stats.sample()
    assert first is not None and first.hit_rate is None  # nothing to compare with yet
    for _ in range(3):
        counters.record("product_detail", "hits")
    counters.record("product_detail", "misses")
    counters.flush()
    redis_client.delete(timeline.lock_key())  # the next interval has begun
    second = stats.sample()
    assert second is not None and second.source == "application"
    assert second.hit_rate == 0.75 and second.hit_rate_percent == 75.0
    assert second.ops_per_sec is not None and second.ops_per_sec > 0
    assert second.server_hit_rate is not None

    # Any process reads the same points from Redis (here: a fresh read, no local state).
    points = stats.history(3600)
    assert [p.time for p in points] == [first.time, second.time]
    assert points[1].as_dict()["hit_rate_percent"] == 75.0
    old = first.time - 7200
    entry = json.dumps(
        {"time": old, "hit_rate": 0.5, "ops_per_sec": 1, "hits": 0, "misses": 0, "commands": 0}
    )
    redis_client.zadd(timeline.history_key(), {entry: old})
    assert len(stats.history(3600)) == 2  # older than the window: left out
    assert stats.history(3 * 3600)[0].time == old
    redis_client.zrem(timeline.history_key(), entry)
    stored = redis_client.zrange(timeline.history_key(), 0, -1)
    assert len(stored) == 2
    assert timeline.history_key().startswith(stored_keys.site_prefix() + "cache_admin:")
    assert redis_client.ttl(timeline.history_key()) > 0
    with pytest.raises(ValueError, match="window"):
        stats.history(window=-1)


def test_server_rate_when_the_toolkit_saw_no_lookups(redis_client: redis.Redis) -> None:
    assert stats.sample() is not None
    cache = caches["default"]
    cache.set("product:1", 1)
    for _ in range(9):
        cache.get("product:1")
    redis_client.delete(timeline.lock_key())
    point = stats.sample()
    assert point is not None and point.source == "server"
    assert point.hit_rate is not None and point.hit_rate > 0.5


def test_damaged_history_entries_are_skipped(redis_client: redis.Redis) -> None:
    redis_client.zadd(timeline.history_key(), {b"not json": 1, b'{"time": 2}': 2})
    stats.sample()
    assert len(stats.history(10**10)) == 1


# Committed rows: the policy listener may re-read the table meanwhile (on its own database
# connection, when the alias change moves its subscription), and must find the override.
@pytest.mark.django_db(transaction=True)
def test_type_rows_combine_policy_counters_and_key_counts(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    TTLOverride.objects.create(cache_type="category", ttl=7200)
    policy.reload()
    cache = caches[cache_alias]
    for i in range(12):
        cache.set(f"product:{i}", i)
    for i in range(3):
        cache.set(f"product:list:{i}", i)
    cache.set("cache_admin:history:x", 1)  # the package's own keys are not counted
    # Samples of CONSOLE_MIN_SAMPLE (100) lookups and more: judged.
    counters.record("product_detail", "hits", 190)
    counters.record("product_detail", "misses", 10)
    counters.record("cart", "hits", 25)
    counters.record("cart", "misses", 75)
    counters.record("cart", "invalidations", 50)
    counters.record("cart", "fills", 20)
    counters.flush()

    rows = {row.name: row for row in stats.type_rows()}
    assert len(rows) == 7
    category = rows["category"]
    assert (category.default_ttl, category.override, category.effective_ttl) == (3600, 7200, 7200)
    detail = rows["product_detail"]
    assert detail.key_count == 12 and detail.key_count_exact
    assert rows["product_list"].key_count == 3
    assert detail.hit_rate_5m == 0.95 and detail.hit_rate_1h == 0.95
    assert detail.level == "target" and detail.hints == ()
    cart = rows["cart"]
    assert cart.hit_rate_1h == 0.25 and cart.level == "poor"
    assert any("warm_cache --all" in hint for hint in cart.hints)
    assert any("50 invalidations against 20 fills" in hint for hint in cart.hints)
    assert any("1800 s" in hint for hint in cart.hints)
    assert rows["search_results"].level is None  # no traffic, no verdict


@pytest.mark.django_db
def test_key_counts_are_bounded_and_estimated(redis_client: redis.Redis, settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CONSOLE_SCAN_BUDGET": 1000}
    pipe = redis_client.pipeline(transaction=False)
    for i in range(6000):
        pipe.set(stored_keys.stored_key(f"product:{i}"), b"1")
    pipe.execute()
    found = stats.key_counts()
    # SCAN returns whole hash buckets, so a call may bring a few keys more than its COUNT.
    assert not found.exact and 1000 <= found.scanned < 1100
    assert 3000 < found.counts["product_detail"] < 9000  # a scaled sample, not 1000
    # Cached for a short while: a second call reads the stored figures.
    assert stats.key_counts() == found


def test_figures_of_several_primaries_are_merged(redis_client: redis.Redis) -> None:
    from cache_admin.stats.server import merge
    from cache_admin.testing import RedisServer

    redis_client.mset({"a": 1, "b": 2})
    with RedisServer() as other:
        second = redis.Redis(port=other.port)
        second.mset({"c": 1, "d": 2, "e": 3})
        second.get("c")
        second.get("missing")
        infos = [dict(redis_client.info()), dict(second.info())]
        second.close()
    status = merge(infos)
    # Both servers' db0 counts add up.
    assert status.nodes == 2 and status.keys_per_db["db0"] == sum(i["db0"]["keys"] for i in infos)
    assert status.keys_per_db["db0"] >= 5
    assert status.keyspace_hits == sum(i["keyspace_hits"] for i in infos)
    assert status.connected_clients == sum(i["connected_clients"] for i in infos)
    assert status.uptime_seconds == min(i["uptime_in_seconds"] for i in infos)
