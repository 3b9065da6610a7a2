from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.cache import BaseCache, caches

from cache_admin import CacheInvalidator, backend, stored_keys
from cache_admin.invalidation.prefix import iter_delete_prefix
from cache_admin.testing import RedisServer, free_port, populate
from tests import redis_commands


def _stored(cache_alias: str, logical: str) -> bytes:
    return stored_keys.stored_key(logical, caches[cache_alias]).encode()


def _fill(client: redis.Redis, cache_alias: str, *logical: str) -> None:
    for key in logical:
        client.set(_stored(cache_alias, key), b"v")


def test_deletes_only_the_prefix_inside_the_site_namespace(
    cache_alias: str, redis_client: redis.Redis, neighbour: BaseCache
) -> None:
    product_keys = [f"product:{n}" for n in range(2500)]
    _fill(redis_client, cache_alias, *product_keys, "category:1", "productive", "cart:user:1")
    neighbour.set("product:1", "theirs")
    redis_client.set(b"product:1", b"unprefixed")
    keys_before = redis_commands.calls(redis_client, "keys")
    unlinks_before = redis_commands.calls(redis_client, "unlink")

    deleted = CacheInvalidator.invalidate_by_prefix("product:")

    assert deleted == 2500
    assert redis_client.exists(_stored(cache_alias, "product:1")) == 0
    assert redis_client.exists(_stored(cache_alias, "category:1")) == 1
    assert redis_client.exists(_stored(cache_alias, "productive")) == 1
    assert redis_client.exists(_stored(cache_alias, "cart:user:1")) == 1
    assert neighbour.get("product:1") == "theirs"  # S2
    assert redis_client.get(b"product:1") == b"unprefixed"
    assert redis_commands.calls(redis_client, "keys") == keys_before  # never KEYS (P4)
    # Batched: several UNLINKs of at most SCAN_COUNT keys, not one per key, not one huge one
    # (on a cluster, one per hash slot of each batch: never more than one per key).
    unlinks = redis_commands.calls(redis_client, "unlink") - unlinks_before
    if backend.is_cluster(backend.client()):
        stored = [_stored(cache_alias, key) for key in product_keys]
        assert len(backend.by_slot(stored)) <= unlinks <= len(stored)
    else:
        assert 3 <= unlinks <= 40


def test_dry_run_counts_and_deletes_nothing(cache_alias: str, redis_client: redis.Redis) -> None:
    _fill(redis_client, cache_alias, "product:1", "product:2", "category:1")
    assert CacheInvalidator.invalidate_by_prefix("product:", dry_run=True) == 2
    assert redis_client.exists(_stored(cache_alias, "product:1")) == 1
    result = CacheInvalidator.invalidate_prefix("product:", dry_run=True)
    assert result.matched == 2 and result.deleted == 0 and result.dry_run
    assert result.message == "product:: 2 keys would be deleted (dry run)"


def test_glob_characters_are_literal(cache_alias: str, redis_client: redis.Redis) -> None:
    _fill(redis_client, cache_alias, "a*b:1", "aXb:1", "a?c:1", "aYc:1", "[ab]:1", "a:1")
    assert CacheInvalidator.invalidate_by_prefix("a*b") == 1
    assert CacheInvalidator.invalidate_by_prefix("a?c") == 1
    assert CacheInvalidator.invalidate_by_prefix("[ab]") == 1
    assert redis_client.exists(_stored(cache_alias, "aXb:1")) == 1
    assert redis_client.exists(_stored(cache_alias, "aYc:1")) == 1
    assert redis_client.exists(_stored(cache_alias, "a:1")) == 1


def test_keys_with_non_utf8_bytes(cache_alias: str, redis_client: redis.Redis) -> None:
    site = stored_keys.site_prefix(caches[cache_alias]).encode()
    odd = site + b"blob:\xff\xfe\x00end"
    redis_client.set(odd, b"v")
    redis_client.set(site + b"blobby", b"v")
    assert CacheInvalidator.invalidate_by_prefix("blob:", dry_run=True) == 1
    assert CacheInvalidator.invalidate_by_prefix("blob:") == 1
    assert redis_client.exists(odd) == 0
    assert redis_client.exists(site + b"blobby") == 1


def test_package_namespace_is_protected(cache_alias: str, redis_client: redis.Redis) -> None:
    _fill(redis_client, cache_alias, "cache_admin:gen:tests.product", "cache_admin:stats:total")
    _fill(redis_client, cache_alias, "cachex:1")
    assert CacheInvalidator.invalidate_by_prefix("cache") == 1
    assert redis_client.exists(_stored(cache_alias, "cache_admin:gen:tests.product")) == 1
    # Named explicitly, the namespace can be cleared.
    assert CacheInvalidator.invalidate_by_prefix("cache_admin:gen:") == 1
    assert redis_client.exists(_stored(cache_alias, "cache_admin:stats:total")) == 1


@pytest.mark.parametrize("bad", ["", None, 42, "x" * 5000])
def test_unusable_prefixes_are_refused(cache_alias: str, bad: object) -> None:
    with pytest.raises(ValueError):
        CacheInvalidator.invalidate_by_prefix(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CacheInvalidator.iter_invalidate_prefix(bad)  # type: ignore[arg-type]


def test_empty_prefix_message_says_what_to_do() -> None:
    with pytest.raises(ValueError, match="empty prefix would delete every key"):
        CacheInvalidator.invalidate_by_prefix("")


@pytest.mark.parametrize("walk", ["server-side", "client-side"])
def test_iter_reports_progress_until_done(
    server_alias: str, redis_client: redis.Redis, settings: Any, walk: str
) -> None:
    # On one server: populate() writes its keys from a script (the cluster's progress is
    # test_cluster.py's). Server-side steps last at most PREFIX_STEP_MS each: 20,000 keys
    # take several. A ``keep`` filter needs each key in the client: steps of ``batch`` keys.
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "PREFIX_STEP_MS": 1}
    many = 20_000 if walk == "server-side" else 300
    populate(redis_client, _stored(server_alias, "search:product:").decode(), many)
    _fill(redis_client, server_alias, "cart:1")
    keep = (lambda rest: True) if walk == "client-side" else None
    steps = list(iter_delete_prefix("search:", batch=50, keep=keep))
    assert steps[0].deleted == 0 and not steps[0].done
    # The keyspace's size: the package keeps no key of its own here.
    assert steps[0].total == many + 1
    last = steps[-1]
    assert last.done and last.deleted == many and last.matched == many and last.fraction == 1.0
    assert len(steps) > 3
    deleted = [s.deleted for s in steps]
    assert deleted == sorted(deleted)
    assert all(0.0 <= s.fraction <= 1.0 for s in steps)
    assert redis_client.exists(_stored(server_alias, "cart:1")) == 1


def test_iter_dry_run(cache_alias: str, redis_client: redis.Redis) -> None:
    _fill(redis_client, cache_alias, *(f"reco:{n}" for n in range(20)))
    last = list(CacheInvalidator.iter_invalidate_prefix("reco:", dry_run=True))[-1]
    assert (last.matched, last.deleted, last.dry_run) == (20, 0, True)
    assert redis_client.exists(_stored(cache_alias, "reco:1")) == 1


def test_a_cluster_node_gets_one_unlink_per_hash_slot(settings: Any, tmp_path: Path) -> None:
    # One node holding every slot: a plain client works, and a multi-key UNLINK across
    # slots is refused (CROSSSLOT), as on any cluster node.
    server = RedisServer(
        None,
        "--cluster-enabled", "yes",
        "--cluster-port", str(free_port()),
        "--cluster-config-file", str(tmp_path / "nodes.conf"),
    )  # fmt: skip
    server.start()
    try:
        client = redis.Redis(port=server.port)
        client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        deadline = time.monotonic() + 10
        while client.cluster("info")["cluster_state"] != "ok":  # the node's cron takes it up
            assert time.monotonic() < deadline, "the cluster node did not become ready"
            time.sleep(0.02)
        with pytest.raises(redis.ResponseError, match="same slot"):
            client.unlink(b"a", b"b")
        settings.CACHES = {
            **settings.CACHES,
            "node": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": f"{server.url}/0"},
        }
        cache = caches["node"]
        for n in range(300):
            cache.set(f"product:{n}", n)
        cache.set("category:1", 1)
        # Server-side steps (one UNLINK per key inside the script), then the client loop
        # (one UNLINK per hash slot of each batch), which ``keep`` needs.
        assert CacheInvalidator.invalidate_by_prefix("product:", alias="node") == 300
        assert redis_commands.calls(client, "evalsha") >= 1
        assert cache.get("product:7") is None and cache.get("category:1") == 1
        for n in range(300):
            cache.set(f"product:{n}", n)
        keep_odd = list(iter_delete_prefix("product:", alias="node", keep=lambda r: r[-1] % 2 == 1))
        assert keep_odd[-1].deleted == 150
        assert cache.get("product:7") is None and cache.get("product:8") == 8
        client.close()
        cache.close()
    finally:
        server.stop()


def test_count_prefix_is_exact_within_the_budget(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    _fill(redis_client, cache_alias, *(f"search:product:{n}" for n in range(30)), "cart:1")
    counted = CacheInvalidator.count_prefix("search:", budget=100_000)
    assert counted.complete and counted.matched == counted.estimate == 30
    assert redis_client.exists(_stored(cache_alias, "search:product:0"))  # nothing deleted


def test_count_prefix_stops_at_its_budget_and_estimates(
    cache_alias: str, redis_client: redis.Redis, settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 100}
    pipe = redis_client.pipeline(transaction=False)
    for n in range(5000):
        key = f"search:product:{n}" if n % 10 == 0 else f"category:{n}"
        pipe.set(_stored(cache_alias, key), b"v")
    pipe.execute()
    scans_before = redis_commands.calls(redis_client, "scan")
    keys_before = redis_client.dbsize()
    counted = CacheInvalidator.count_prefix("search:", budget=1000)
    keys_after = redis_client.dbsize()
    scans = redis_commands.calls(redis_client, "scan") - scans_before
    # P5: about budget / SCAN_COUNT steps, not a walk over 5,000 keys in steps of 100.
    assert not counted.complete
    assert 1000 <= counted.scanned < 5000 and scans <= 12
    # The keyspace size (the background threads may add their own key meanwhile).
    assert keys_before <= counted.total <= keys_after
    # A tenth of the keys match: the estimate is of that order, and says it is one.
    assert 200 <= counted.estimate <= 1200
    assert redis_client.exists(_stored(cache_alias, "search:product:0"))
