"""The key browser's one cursor token on a real 3-primary Redis Cluster: every primary's
keys are paged through, rare keys on every node are found under the per-request budget."""

from __future__ import annotations

from typing import Any

import redis
from django.core.cache import caches

from cache_admin import backend, keyspace
from cache_admin.breaker import breaker_for
from tests.keyspace_support import every_page


def test_one_token_pages_through_every_primary_of_a_cluster(
    cluster_alias: str, settings: object
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 50}  # type: ignore[attr-defined]
    cache = caches[cluster_alias]
    names = {f"a:{i}" for i in range(240)}
    for name in names:
        cache.set(name, b"v", 300)
    primaries = backend.primary_clients(cache)
    assert len(primaries) == 3
    # Every primary holds some of the keys: the walk has to visit all three.
    assert all(client.dbsize() > 0 for client in primaries)
    pages = list(every_page("a:", page_size=50))
    # The token carries one position per primary.
    assert pages[0].cursor.split("~")[0].count("-") == 2
    assert all(len(page.keys) == 50 for page in pages[:-1]) and len(pages) < 100
    seen = [info.logical for page in pages for info in page.keys]
    assert set(seen) == names and len(seen) <= len(names) + 5


def test_rare_keys_on_every_primary_are_found_within_the_budget(
    cluster_alias: str, settings: object
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 200}  # type: ignore[attr-defined]
    cache = caches[cluster_alias]
    cache.set_many({f"other:{i}": b"v" for i in range(3000)}, 300)
    rare = {f"rare:{i}" for i in range(12)}
    for name in rare:
        cache.set(name, b"v", 300)
    holders = [client for client in backend.primary_clients(cache) if client.keys(b"*rare:*")]
    assert len(holders) >= 2  # the rare keys live on more than one node
    found: set[str] = set()
    requests = 0
    for page in every_page("rare:", budget=500):
        requests += 1
        assert page.scanned <= 500 + 200  # each request keeps its budget
        found |= {info.logical for info in page.keys}
    assert found == rare and requests > 1


def scans(client: Any) -> int:
    return int(client.info("commandstats").get("cmdstat_scan", {}).get("calls", 0))


def test_a_round_scans_every_primary_and_filters_by_type(
    cluster_alias: str, settings: object
) -> None:
    # One SCAN per primary per round, every command sent before any reply is read: the TYPE
    # filter travels with each, and the budget is shared between the nodes.
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 100}  # type: ignore[attr-defined]
    cache = caches[cluster_alias]
    cache.set_many({f"mixed:s{i}": b"v" for i in range(60)}, 300)
    primaries = backend.primary_clients(cache)
    hashes = set()
    for i in range(30):
        stored = cache.make_key(f"mixed:h{i}")
        primary = backend.node_for_key(stored, cache).client
        primary.hset(stored, "field", "v")
        hashes.add(f"mixed:h{i}")
    assert sum(1 for client in primaries if client.keys(b"*mixed:h*")) >= 2
    before = [scans(client) for client in primaries]
    page = keyspace.scan_page("mixed:", redis_type="hash", page_size=100, budget=3000)
    after = [scans(client) for client in primaries]
    assert page.done
    assert {info.logical for info in page.keys} == hashes
    assert all(info.redis_type == "hash" for info in page.keys)
    assert all(later > earlier for earlier, later in zip(before, after, strict=True))
    assert page.calls == sum(after) - sum(before)


def test_pooled_connections_the_servers_closed_are_not_an_outage(
    cluster_alias: str, settings: object
) -> None:
    # The walk's round takes a connection of each node's pool; one the server closed while
    # it sat there (an idle timeout, a proxy, CLIENT KILL) is reconnected, not an outage.
    cache = caches[cluster_alias]
    names = {f"idle:{i}" for i in range(60)}
    for name in names:
        cache.set(name, b"v", 300)
    primaries = backend.primary_clients(cache)
    assert sum(1 for client in primaries if client.keys(b"*idle:*")) >= 2
    assert {info.logical for info in keyspace.scan_page("idle:").keys} == names
    for client in primaries:
        options = client.connection_pool.connection_kwargs
        killer = redis.Redis(host=options["host"], port=options["port"])
        try:
            assert killer.client_kill_filter(_type="normal", skipme=True) >= 1
        finally:
            killer.close()
    page = keyspace.scan_page("idle:", page_size=100)
    assert {info.logical for info in page.keys} == names
    assert breaker_for(cluster_alias).opened_at is None
