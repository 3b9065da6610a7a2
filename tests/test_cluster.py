"""The toolkit on a Redis Cluster of 3 primaries and 3 replicas (the session's cluster).

Most of the toolkit's tests run on the cluster too, through ``cache_alias``; these are about
what only a cluster has: nodes and slots, commands split by slot, the package's writes
spread over the primaries.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest
import redis
from django.core.cache import BaseCache, caches
from django.core.exceptions import ImproperlyConfigured

from cache_admin import (
    CacheInvalidator,
    backend,
    counter_flush,
    counter_totals,
    counters,
    nodes,
    stored_keys,
)
from cache_admin.backends.cluster import cluster_client
from cache_admin.testing import free_port
from tests import redis_commands


def test_the_nodes_are_three_primaries_and_their_replicas(cluster_alias: str) -> None:
    nodes = backend.nodes()
    primaries = [node for node in nodes if node.role == "primary"]
    replicas = [node for node in nodes if node.role == "replica"]
    assert len(primaries) == len(replicas) == 3
    assert nodes == primaries + replicas  # primaries first
    ids = {node.state.node_id for node in primaries if node.state is not None}
    assert {node.state.primary_id for node in replicas if node.state is not None} == ids
    served = sorted(slot for node in primaries if node.state for slot in node.state.slots)
    assert served[0][0] == 0 and served[-1][1] == backend.SLOTS - 1
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(served))
    for node in nodes:  # each with a client of its own, that server itself
        assert node.client is not None
        role = node.client.info("replication")["role"]
        assert role == ("master" if node.role == "primary" else "slave")
    assert len(backend.primary_clients()) == 3


@pytest.mark.parametrize("key", ["product:1", "cart:user:7", "{tag}a", "x{tag}y", "", "é"])
def test_slots_and_key_routing_agree_with_the_cluster(
    cluster_alias: str, redis_client: redis.Redis, key: str
) -> None:
    stored = stored_keys.stored_key(key)
    redis_client.set(stored, b"v")
    node = backend.node_for_key(stored)
    assert node.client.execute_command("CLUSTER", "KEYSLOT", stored) == backend.keyslot(stored)
    assert node.client.get(stored) == b"v"  # the node itself: no MOVED
    owners = [n for n in backend.nodes() if n.state and n.state.serves(backend.keyslot(stored))]
    assert [owner.name for owner in owners] == [node.name]


@pytest.mark.parametrize("alias", ["cluster", "cluster_builtin"])
def test_django_api_across_slots(cluster_url: str, alias: str) -> None:
    # The package's two backends; django-valkey's get_many() answers {} for an iterator
    # (it reads the keys twice), see docs/cluster.md.
    cache = caches[alias]
    data = {f"product:{n}": n for n in range(50)}
    assert not cache.set_many(data)  # no key failed
    assert cache.get_many(iter(data)) == data  # keys in many slots, any iterable
    assert cache.get_many([*list(data)[:3], "missing"]) == {k: data[k] for k in list(data)[:3]}
    cache.delete_many(list(data)[:25])
    assert cache.get_many(list(data)) == dict(list(data.items())[25:])
    assert cache.has_key("product:30") and not cache.has_key("product:1")
    cache.set("count", 1)
    assert cache.incr("count", 4) == 5
    cache.clear()  # every primary's database
    assert cache.get_many(list(data)) == {}


def test_django_valkey_cluster_api_and_its_limits(cluster_url: str) -> None:
    # What docs/cluster.md says of ClusterValkeyCache (django-valkey 0.4): across slots its
    # get_many() takes a list, not an iterator, and keys() sees one node only. The toolkit
    # calls neither: it reads keys one by one and scans every primary itself.
    cache: Any = caches["cluster_valkey"]
    data = {f"product:{n}": n for n in range(50)}
    cache.set_many(data)
    assert cache.get_many(list(data)) == data
    assert cache.get_many(iter(data)) == {}  # the iterator is read twice
    assert cache.delete_many(list(data)[:25]) == 25
    assert cache.get_many(list(data)) == dict(list(data.items())[25:])
    per_node = [
        sum(
            1
            for _ in client.scan_iter(match=stored_keys.stored_key("product:*", cache), count=1000)
        )
        for client in backend.primary_clients(cache)
    ]
    assert sum(per_node) == 25 and len(cache.keys("product:*")) in per_node  # one node's
    assert cache.delete_pattern("product:*") == 25  # every node's
    cache.set("count", 1)
    assert cache.incr("count", 4) == 5
    # set_many(data, timeout) takes its second argument as the key version and sets no
    # expiry: the keys land under version 300, forever, where get() does not look.
    cache.set_many({"late": 1}, 300)
    assert cache.get("late") is None and cache.get("late", version=300) == 1
    assert cache.ttl("late", version=300) is None


def test_django_redis_api_on_a_cluster(cluster_url: str) -> None:
    cache: Any = caches["cluster"]
    for n in range(40):
        cache.set(f"search:{n}", n, timeout=600)
    cache.set("other", 1)
    assert sorted(cache.keys("search:*")) == sorted(f"search:{n}" for n in range(40))
    assert sorted(cache.iter_keys("search:*")) == sorted(f"search:{n}" for n in range(40))
    assert 590 <= cache.ttl("search:1") <= 600
    with cache.lock("search:lock", timeout=5):
        assert cache.get("search:1") == 1
    assert cache.delete_pattern("search:*") == 40
    assert cache.keys("*") == ["other"]


def test_prefix_deletion_scans_every_primary(
    cluster_alias: str, redis_client: redis.Redis, neighbour: BaseCache
) -> None:
    cache = caches[cluster_alias]
    cache.set_many({f"product:{n}": n for n in range(300)})
    cache.set("category:1", 1)
    neighbour.set("product:1", "theirs")
    site = stored_keys.site_prefix().encode()

    def products_per_node() -> list[int]:
        return [
            sum(1 for _ in client.scan_iter(match=site + b"product:*", count=1000))
            for client in backend.primary_clients()
        ]

    assert all(count > 50 for count in products_per_node())  # the keys are on every node
    sizes = sum(int(client.dbsize()) for client in backend.primary_clients())

    steps = list(CacheInvalidator.iter_invalidate_prefix("product:", batch=100))

    assert steps[0].total == sizes  # progress over the whole cluster, node after node
    assert [step.deleted for step in steps] == sorted(step.deleted for step in steps)
    assert steps[-1].done and steps[-1].deleted == steps[-1].matched == 300
    assert products_per_node() == [0, 0, 0]
    assert cache.get("category:1") == 1
    assert neighbour.get("product:1") == "theirs"  # S2 on a cluster


def test_the_counters_spread_over_every_primary(
    cluster_alias: str, redis_client: redis.Redis, quiet_background: None
) -> None:
    # A process flushes every second: into one hash, every flush of the site would be one
    # slot's. Measured on the servers: each flush is one node's, and a process's flushes
    # go round every primary.
    primaries = backend.primary_clients()
    before = [redis_commands.counts(client) for client in primaries]
    types = [f"type_{n}" for n in range(10)]
    for _ in range(2 * counter_flush.CLUSTER_SHARDS):  # as many seconds of one process
        for name in types:
            counters.record(name, "hits", 3)
            counters.record(name, "misses")
        assert counters.flush()
    writes = [
        redis_commands.delta(then, redis_commands.counts(client), ignore=frozenset()).get(
            "hincrby", 0
        )
        for then, client in zip(before, primaries, strict=True)
    ]
    assert sum(writes) == 2 * counter_flush.CLUSTER_SHARDS * len(types) * 2 * 2
    assert writes == [sum(writes) // 3] * 3  # eight flushes on each primary
    assert counters.totals()["type_7"] == counters.Counts(hits=72, misses=24)  # summed
    minutes = counter_totals.type_minutes(180)["type_7"]  # a minute may have turned meanwhile
    assert sum(minutes, counters.Counts()) == counters.Counts(hits=72, misses=24)
    # Each shard's hash tag pins it to its own twelfth of the slots: four per primary.
    owners = Counter(
        backend.node_for_key(stored_keys.stored_key(counter_flush.stats_key("total", shard))).name
        for shard in range(counter_flush.CLUSTER_SHARDS)
    )
    assert sorted(owners.values()) == [4, 4, 4]


def test_a_node_line_with_slots_in_migration() -> None:
    # CLUSTER NODES lists a slot being moved as [slot->-id] / [slot-<-id]: not served yet.
    line = (
        "07c3 127.0.0.1:30004@40004 myself,master - 0 1426238316232 4 connected "
        "0-5 9 [10->-e7d1] [11-<-292f]"
    )
    state = nodes.NodeState.parse(line)
    assert state.slots == ((0, 5), (9, 9)) and state.name == "127.0.0.1:30004"
    assert state.role == nodes.PRIMARY and state.primary_id is None and state.connected
    assert state.serves(9) and not state.serves(10)


def test_one_server_is_one_primary_node(server_alias: str, redis_url: str) -> None:
    [node] = backend.nodes()
    assert node.role == nodes.PRIMARY and node.state is None
    assert node.name == redis_url.removeprefix("redis://")
    assert backend.node_for_key("product:1").name == node.name
    [primary] = backend.primary_clients()
    assert primary.connection_pool is backend.client().connection_pool  # the client itself


def test_the_cluster_backends_locations(cluster_url: str, settings: Any) -> None:
    # Any node listed answers for the others; the first may be down.
    dead = f"redis://127.0.0.1:{free_port()}"
    settings.CACHES = {
        **settings.CACHES,
        "listed": {
            "BACKEND": "cache_admin.backends.django_redis.RedisCache",
            "LOCATION": f"{dead},{cluster_url}",
            "OPTIONS": {"CLIENT_CLASS": "cache_admin.backends.cluster.ClusterClient"},
        },
    }
    cache: Any = caches["listed"]
    cache.set("product:1", 1)
    assert cache.get_many([]) == {} and cache.get_many(["product:1"]) == {"product:1": 1}
    cache.client.disconnect()  # every node's pool: the next call connects again
    assert cache.get("product:1") == 1
    with pytest.raises(ImproperlyConfigured, match="at least one node"):
        cluster_client([" ", ""])
