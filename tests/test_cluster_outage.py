"""R1 and R2 on a Redis Cluster: a node that refuses connections, a node that hangs, slots
that no node serves (CLUSTERDOWN).

The toolkit serves computed values without raising, the breaker opens, invalidations
issued meanwhile are queued and replayed once the whole cluster answers again, and
nothing outside the prefix is deleted. A cluster of the module's own (three primaries, no
replica: nothing fails over, a node's slots wait for it), short socket timeouts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.views.decorators.cache import cache_page

from cache_admin import CacheInvalidator, backend, cache_result, counters, stored_keys
from cache_admin.backends import cluster as cluster_backend
from cache_admin.breaker import OPEN, breaker_for
from cache_admin.guard import RedisUnavailable
from cache_admin.invalidation import outbox
from cache_admin.testing import ClusterNodeServer, RedisClusterServer
from tests.cluster_support import SOCKET_TIMEOUT, own_cluster_alias

pytestmark = pytest.mark.cluster

TIMEOUT = SOCKET_TIMEOUT


@pytest.fixture(scope="module")
def small_cluster() -> Iterator[RedisClusterServer]:
    # A node stopped or paused for a few seconds is not declared failed by the others.
    with RedisClusterServer(3, 0, node_timeout_ms=10_000) as cluster:
        yield cluster


@pytest.fixture(params=["outage_cluster", "outage_cluster_valkey"], ids=["cluster", "valkey"])
def alias(
    request: pytest.FixtureRequest, small_cluster: RedisClusterServer, settings: Any
) -> Iterator[str]:
    """The toolkit on the module's cluster, through the package's django-redis flavour or
    django-valkey's backend; the cluster is whole again after the test."""
    with own_cluster_alias(
        small_cluster,
        settings,
        "outage_",
        str(request.param).removeprefix("outage_"),
        BREAKER_PROBE_INTERVAL=0.05,
        OUTBOX_RETRY_INTERVAL=0,
    ) as name:
        yield name


def stored(key: str) -> str:
    return stored_keys.stored_key(key)


def node_of(cluster: RedisClusterServer, key: str) -> ClusterNodeServer:
    return cluster.node_for_slot(backend.keyslot(stored(key)))


def raw(cluster: RedisClusterServer, key: str) -> bytes | None:
    client = redis.Redis(port=node_of(cluster, key).port)
    try:
        return client.get(stored(key))  # type: ignore[return-value]
    finally:
        client.close()


def computed() -> tuple[list[int], Callable[[int], str]]:
    calls: list[int] = []

    @cache_result(timeout=600, key_prefix="product")
    def product(pk: int) -> str:
        calls.append(pk)
        return f"fresh {pk}"

    return calls, product


def keys_on_other_nodes(cluster: RedisClusterServer, down: ClusterNodeServer) -> list[str]:
    found = [f"product:{n}" for n in range(40) if node_of(cluster, f"product:{n}") is not down]
    assert found
    return found


def until_open(alias: str, call: Callable[[], Any]) -> None:
    deadline = time.monotonic() + 20
    while breaker_for(alias).state != OPEN:
        assert time.monotonic() < deadline, "the breaker never opened"
        call()


def test_a_node_that_refuses(alias: str, small_cluster: RedisClusterServer) -> None:
    cache = caches[alias]
    calls, product = computed()
    down = node_of(small_cluster, "product:1")
    elsewhere = keys_on_other_nodes(small_cluster, down)
    cache.set_many(dict.fromkeys(elsewhere, "stale"))
    down.kill()

    until_open(alias, lambda: product(1))  # computed every time, nothing raised
    assert product(1) == "fresh 1"
    assert calls and set(calls) == {1}
    # Invalidations of keys on the healthy nodes too: the cluster is out as a whole.
    result = CacheInvalidator.invalidate_keys(*elsewhere)
    assert result.queued and result.deleted == 0
    assert raw(small_cluster, elsewhere[0]) is not None

    down.start()  # empty: it lost what it held, as a restarted cache does
    small_cluster.wait_until_ready()
    assert breaker_for(alias).wait_closed(20), "the breaker did not close"
    assert all(raw(small_cluster, key) is None for key in elsewhere)  # replayed (R2)
    assert outbox.pending_count(alias) == 0
    assert product(1) == product(1) == "fresh 1"  # cached again


def test_a_prefix_deletion_while_a_node_refuses(
    alias: str, small_cluster: RedisClusterServer
) -> None:
    cache = caches[alias]
    neighbour = caches["outage_cluster_neighbour"]
    cache.set_many({f"product:{n}": "stale" for n in range(60)})
    cache.set_many({f"category:{n}": "kept" for n in range(60)})
    neighbour.set_many({f"product:{n}": "theirs" for n in range(60)})
    down = node_of(small_cluster, "product:1")
    down.kill()

    result = CacheInvalidator.invalidate_prefix("product:")

    assert result.queued and "queued" in result.message
    healthy = keys_on_other_nodes(small_cluster, down)
    down.start()  # empty: it lost what it held
    small_cluster.wait_until_ready()
    # One failure does not open the breaker: what the retry thread does every
    # OUTBOX_RETRY_INTERVAL (off here) replays the prefix.
    deadline = time.monotonic() + 20
    while outbox.pending_count(alias):
        assert time.monotonic() < deadline, "the queued prefix was not replayed"
        outbox.replay(alias)
        time.sleep(0.05)
    assert all(raw(small_cluster, key) is None for key in healthy)  # complete once replayed
    # Outside the prefix, everything the restarted node did not hold is still there.
    kept = [
        f"category:{n}" for n in range(60) if node_of(small_cluster, f"category:{n}") is not down
    ]
    assert kept and cache.get_many(kept) == dict.fromkeys(kept, "kept")
    theirs = [
        f"product:{n}"
        for n in range(60)
        if small_cluster.node_for_slot(backend.keyslot(neighbour.make_key(f"product:{n}")))
        is not down
    ]
    assert theirs and neighbour.get_many(theirs) == dict.fromkeys(theirs, "theirs")  # S2


def test_a_node_that_hangs(alias: str, small_cluster: RedisClusterServer) -> None:
    calls, product = computed()
    assert product(2) == "fresh 2"
    hung = node_of(small_cluster, "product:2")
    hung.pause()
    try:
        started = time.monotonic()
        until_open(alias, lambda: product(2))
        assert time.monotonic() - started < 5  # a timeout opens it at once
        served = time.monotonic()
        assert product(2) == "fresh 2"  # no wait once open
        assert time.monotonic() - served < TIMEOUT
        assert CacheInvalidator.invalidate_keys("product:2").queued
    finally:
        hung.resume()
    assert breaker_for(alias).wait_closed(20), "the breaker did not close"
    assert raw(small_cluster, "product:2") is None  # the queued deletion was replayed
    assert len(calls) >= 2


def test_slots_that_no_node_serves(alias: str, small_cluster: RedisClusterServer) -> None:
    cache = caches[alias]
    neighbour = caches["outage_cluster_neighbour"]
    cache.set_many({f"product:{n}": "stale" for n in range(40)})
    cache.set("category:1", "kept")
    neighbour.set("product:1", "theirs")
    owner = small_cluster.node_for_slot(0)
    client = redis.Redis(port=owner.port)
    client.execute_command("CLUSTER", "DELSLOTS", *range(0, 100))
    try:
        deadline = time.monotonic() + 10
        while client.cluster("info")["cluster_state"] != "fail":
            assert time.monotonic() < deadline, "the node did not notice the missing slots"
            time.sleep(0.05)
        _calls, product = computed()
        key = next(f"product:{n}" for n in range(40) if node_of_port(small_cluster, n, owner))
        until_open(alias, lambda: product(int(key.split(":")[1])))

        result = CacheInvalidator.invalidate_prefix("product:")

        assert result.queued and result.deleted == 0
        assert "queued" in result.message
        assert cache.get("category:1") in ("kept", None)  # a fail-open miss at most
    finally:
        client.execute_command("CLUSTER", "ADDSLOTS", *range(0, 100))
        client.close()
    small_cluster.wait_until_ready()
    assert breaker_for(alias).wait_closed(20), "the breaker did not close"
    assert all(raw(small_cluster, f"product:{n}") is None for n in range(40))  # replayed
    assert cache.get("category:1") == "kept"  # only the prefix
    assert neighbour.get("product:1") == "theirs"  # only the site's keys (S2)


def node_of_port(cluster: RedisClusterServer, n: int, owner: ClusterNodeServer) -> bool:
    return node_of(cluster, f"product:{n}") is owner


@pytest.mark.parametrize(
    "alias", ["outage_cluster", "outage_cluster_builtin"], ids=["cluster", "builtin"], indirect=True
)
def test_django_cache_api_fails_open_while_a_node_refuses(
    alias: str, small_cluster: RedisClusterServer
) -> None:
    # The package's cluster backends: sessions, cache_page and third-party code call them.
    cache = caches[alias]
    rendered: list[int] = []

    @cache_page(600, cache=alias)
    def page(request: HttpRequest) -> HttpResponse:
        rendered.append(1)
        return HttpResponse("fresh")

    assert page(RequestFactory().get("/page")).content == b"fresh"
    down = small_cluster.node_for_slot(backend.keyslot(cache.make_key("product:1")))
    elsewhere = next(
        f"cart:{n}"
        for n in range(100)
        if small_cluster.node_for_slot(backend.keyslot(cache.make_key(f"cart:{n}"))) is not down
    )
    cache.set(elsewhere, "stale")
    down.kill()

    until_open(alias, lambda: cache.get("product:1"))
    assert cache.get("product:1") is None  # a miss, not an error
    cache.set("product:1", "dropped")
    cache.delete(elsewhere)  # queued: the cluster is out as a whole
    assert outbox.pending_count(alias) == 1
    for _ in range(3):  # served on every request, rendered as needed
        assert page(RequestFactory().get("/page")).status_code == 200

    down.start()
    small_cluster.wait_until_ready()
    assert breaker_for(alias).wait_closed(20), "the breaker did not close"
    deadline = time.monotonic() + 10
    while outbox.pending_count(alias):
        assert time.monotonic() < deadline, "the queued deletion was not replayed"
        time.sleep(0.05)
    assert cache.get(elsewhere) is None  # replayed (R2)
    assert cache.get("product:1") is None  # the write was dropped, not kept for later


def test_a_process_that_cannot_make_its_cluster_client(
    alias: str, small_cluster: RedisClusterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process started while slots are not served: its client library refuses to make a
    # cluster client at all. A thread of its own has caches of its own (Django's caches are
    # per thread), and the package's process-wide clients are forgotten: a fresh process.
    monkeypatch.setattr(cluster_backend, "_clients", {})
    owner = small_cluster.node_for_slot(0)
    client = redis.Redis(port=owner.port)
    client.execute_command("CLUSTER", "DELSLOTS", *range(0, 100))
    seen: dict[str, Any] = {}
    # A key in those slots: django-valkey's client is made anyway, and serves the others.
    pk = next(n for n in range(100_000) if backend.keyslot(stored(f"product:{n}")) < 100)

    def fresh_process() -> None:
        _calls, product = computed()
        seen["served"] = [product(pk), product(pk)]
        seen["queued"] = CacheInvalidator.invalidate_keys(f"product:{pk}").queued
        try:
            counters.totals()
        except RedisUnavailable as exc:
            seen["totals"] = str(exc)

    try:
        thread = threading.Thread(target=fresh_process)
        thread.start()
        thread.join(30)
    finally:
        client.execute_command("CLUSTER", "ADDSLOTS", *range(0, 100))
        client.close()
    assert seen["served"] == [f"fresh {pk}"] * 2  # computed, nothing raised
    assert seen["queued"]
    assert "unreachable" in seen["totals"].lower()
    small_cluster.wait_until_ready()
    assert breaker_for(alias).wait_closed(20), "the breaker did not close"
