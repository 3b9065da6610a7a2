from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from cache_admin import backend, counter_flush, counter_totals, counters, stored_keys
from cache_admin.counters import Counts
from tests import redis_commands
from tests.forking import fork_and_run


@pytest.fixture(autouse=True)
def _fresh_counters() -> Iterator[None]:
    counter_flush.reset_for_tests()
    yield
    counter_flush.reset_for_tests()


def stored(logical: str) -> str:
    return stored_keys.stored_key(logical)


def stats_keys(suffix: str | int) -> list[str]:
    """The stored hashes of a minute or of the total: the shards on a cluster."""
    shards = range(counter_flush.CLUSTER_SHARDS) if backend.is_cluster(backend.client()) else [None]
    return [stored(counter_flush.stats_key(suffix, shard)) for shard in shards]


def stats_key(suffix: str | int) -> str:
    """The stored hash a flush of counts went to (one of the shards on a cluster)."""
    keys = stats_keys(suffix)
    return next((key for key in keys if backend.client().exists(key)), keys[0])


def test_counts_and_hit_rate() -> None:
    assert Counts().hit_rate is None
    assert Counts(hits=9, misses=1).hit_rate == 0.9
    assert Counts(hits=1) + Counts(hits=2, errors=1) == Counts(hits=3, errors=1)
    with pytest.raises(ValueError, match="unknown counter event"):
        counters.record("product_detail", "hit")


def test_record_batches_in_process_and_flush_writes_one_pipeline(
    cache_alias: str, redis_client: redis.Redis, quiet_background: None
) -> None:
    # quiet_background holds the flusher thread off: only this test's flush is counted,
    # however the thread's schedule falls on a loaded machine.
    before = redis_commands.counts(redis_client)
    for _ in range(1000):
        counters.record("product_detail", "hits")
    counters.record(None, "misses", 3)
    assert counters.flush() is True
    issued = redis_commands.delta(
        before,
        redis_commands.counts(redis_client),
        ignore=redis_commands.BACKGROUND - {"hincrby", "expire"},
    )
    # 2 fields: a minute hash and the total each, plus one EXPIRE per minute hash (a
    # minute may turn while recording: the hits or the misses then fall in two minutes).
    assert set(issued) == {"hincrby", "expire"}
    assert (issued["hincrby"], issued["expire"]) in {(4, 1), (4, 2), (6, 2)}
    minute = int(time.time()) // 60
    if not redis_client.exists(stats_key(minute)):
        minute -= 1  # the minute turned between record and this read
    for type_name, field, count in (("product_detail", "hits", 1000), ("_untyped", "misses", 3)):
        name = f"{type_name}:{field}".encode()
        key = stats_key(minute)
        assert redis_client.hget(key, name) == str(count).encode()
        assert redis_client.hget(stats_key("total"), name) == str(count).encode()
        assert 7000 < redis_client.ttl(key) <= 7200
    assert counter_flush.pending() == {}


def test_readers_add_up_flushes_from_several_processes(cache_alias: str) -> None:
    counters.record("cart", "hits", 5)
    counters.flush()
    # Another process's flush lands in the same hashes.
    counters.record("cart", "hits", 4)
    counters.record("cart", "misses", 1)
    counters.record("cart", "invalidations", 2)
    stats = counters.type_stats(300)  # flushes this process's tally first
    assert stats["cart"] == Counts(hits=9, misses=1, invalidations=2)
    assert stats["cart"].hit_rate == 0.9
    assert counters.totals()["cart"].hits == 9
    assert counter_totals.overall(stats).lookups == 10


def test_window_excludes_older_minutes(cache_alias: str, redis_client: redis.Redis) -> None:
    now = int(time.time()) // 60
    redis_client.hset(stats_key(now - 30), "product_detail:hits", 7)
    redis_client.hset(stats_key(now), "product_detail:hits", 1)
    assert counters.type_stats(60)["product_detail"].hits == 1
    assert counters.type_stats(3600)["product_detail"].hits == 8


def test_garbage_fields_are_ignored(cache_alias: str, redis_client: redis.Redis) -> None:
    redis_client.hset(
        stats_key("total"),
        mapping={"x:hits": "2", "nonsense": "1", "y:hits": "NaN", "x:unknown": "5"},
    )
    assert counters.totals() == {"x": Counts(hits=2)}


def test_unreachable_redis_keeps_the_tally(cache_alias: str, settings: Any) -> None:
    counters.record("cart", "hits", 2)
    settings.CACHES = {
        **settings.CACHES,
        cache_alias: {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        },
    }
    assert counters.flush() is False
    assert counter_flush.pending() == {"cart:hits": 2}


def test_forked_workers_do_not_flush_in_step() -> None:
    # On a cluster each flush goes to the next shard: workers forked from one parent would
    # otherwise walk the shards in the same order, each second on the same node.
    def first_two() -> bytes:
        return f"{counter_flush.next_shard(True)},{counter_flush.next_shard(True)}".encode()

    runs = [tuple(map(int, fork_and_run(first_two).split(b","))) for _ in range(8)]
    assert all(second == (first + 1) % counter_flush.CLUSTER_SHARDS for first, second in runs)
    assert len({first for first, _ in runs}) > 1  # 8 draws of 12 all equal: 1 in 12**7
    assert counter_flush.next_shard(False) is None  # one server: one pair of hashes
