"""Failover under traffic on a Redis Cluster of 3 primaries, each with a replica: a primary
is killed between two requests of a stream of storefront requests (cached views, a
``cache_page`` page) through the package's cluster backends. No request fails, the toolkit
follows the promoted replica, the invalidations issued while the slots had no primary are
replayed (their keys, which the replica holds, are gone afterwards), and the dashboard
shows the promoted replica and the failed node. A cluster of the module's own."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse
from django.views.decorators.cache import cache_page

from cache_admin import CacheInvalidator, backend, cache_result
from cache_admin.breaker import breaker_for
from cache_admin.conf import conf
from cache_admin.invalidation import outbox
from cache_admin.testing import ClusterNodeServer, RedisClusterServer
from tests.cluster_support import own_cluster_alias
from tests.urls import urlpatterns as project_urls

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

PRODUCTS = 30


@cache_result(timeout=600, key_prefix="product")
def product_name(pk: int) -> str:
    return f"Product {pk}"


def product_view(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(product_name(pk))


def home_view(request: HttpRequest) -> HttpResponse:
    # Decorated per request: cache_page takes the alias when it is applied.
    page = cache_page(60, cache=conf.CACHE_ALIAS)(lambda request: HttpResponse("home"))
    return page(request)  # type: ignore[no-any-return]


urlpatterns = [
    *project_urls,
    path("products/<int:pk>/", product_view),
    path("", home_view),
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterServer]:
    # A node lost for 1 s is failed and its replica promoted within a few seconds.
    with RedisClusterServer(3, 1, node_timeout_ms=1000) as started:
        yield started


@pytest.fixture(params=["cluster", "cluster_builtin"], ids=["django-redis", "builtin"])
def alias(
    request: pytest.FixtureRequest, cluster: RedisClusterServer, settings: Any
) -> Iterator[str]:
    settings.ROOT_URLCONF = __name__
    fast = {"BREAKER_PROBE_INTERVAL": 0.05, "OUTBOX_RETRY_INTERVAL": 0}
    with own_cluster_alias(cluster, settings, "failover_", request.param, **fast) as name:
        yield name


def replica_of(cluster: RedisClusterServer, primary: ClusterNodeServer) -> ClusterNodeServer:
    states = cluster.states()
    primary_id = next(state.node_id for state in states if state.port == primary.port)
    port = next(state.port for state in states if state.primary_id == primary_id)
    return next(node for node in cluster.nodes if node.port == port)


def promoted(cluster: RedisClusterServer, replica: ClusterNodeServer) -> bool:
    """The replica serves its old primary's slots and the cluster is ok again (cluster.ready()
    waits for every node: the killed one never is)."""
    client = redis.Redis(port=replica.port)
    try:
        ok = client.cluster("info").get("cluster_state") == "ok"  # type: ignore[no-untyped-call]
        return bool(ok and replica in cluster.primaries())
    except (RuntimeError, redis.RedisError):
        return False
    finally:
        client.close()


def traffic(client: Client, statuses: Counter[int]) -> None:
    for pk in range(PRODUCTS):
        response = client.get(f"/products/{pk}/")
        statuses[response.status_code] += 1
        assert response.content.decode() == f"Product {pk}"
    statuses[client.get("/").status_code] += 1


def test_a_primary_killed_under_traffic(
    alias: str, cluster: RedisClusterServer, transactional_db: None
) -> None:
    cache = caches[alias]
    shoppers = Client()
    statuses: Counter[int] = Counter()
    traffic(shoppers, statuses)
    # The victim serves product 1's slot; its replica holds a copy of every key.
    victim = cluster.node_for_slot(backend.keyslot(cache.make_key("product:1")))
    heir = replica_of(cluster, victim)
    stale = [f"stale:{n}" for n in range(60)]
    cache.set_many(dict.fromkeys(stale, "old"))
    cluster.wait_until_ready()  # the replicas have the stale keys too
    on_victim = [
        k for k in stale if cluster.node_for_slot(backend.keyslot(cache.make_key(k))) is victim
    ]
    assert on_victim and len(on_victim) < len(stale)

    victim.kill()
    # Invalidations issued at once (the victim's slots have no primary yet), each key
    # separately, with storefront traffic between them.
    results = []
    for key in stale:
        results.append(CacheInvalidator.invalidate_keys(key))
        shoppers.get("/products/1/")
    assert any(result.queued for result in results)  # some waited for the cluster
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    # Meanwhile the dashboard is a page, not an error: while the breaker is open for the
    # whole site it says the cache is unreachable, as on one server; once it has closed
    # (the replica may be promoted by now on a slow machine), it names the failed node.
    during = admin.get(reverse("admin:cache_admin_dashboard"))
    assert during.status_code == 200
    text = during.content.decode()
    assert "Redis is not reachable." in text or (
        f"127.0.0.1:{victim.port}" in text[text.index('id="cache-admin-nodes-down"') :]
    )
    deadline = time.monotonic() + 60
    rounds = 0
    while not promoted(cluster, heir) or rounds < 3:
        assert time.monotonic() < deadline, "the replica was not promoted"
        traffic(shoppers, statuses)
        rounds += 1
    assert breaker_for(alias).wait_closed(20), "the breaker did not close after the failover"
    for _ in range(3):
        traffic(shoppers, statuses)

    assert set(statuses) == {200}, statuses  # 0 5xx
    # The toolkit follows the new topology: product 1's slot is served by the promoted node.
    assert backend.node_for_key(cache.make_key("product:1")).name == f"127.0.0.1:{heir.port}"
    cache.set("product:1", "after")
    assert redis.Redis(port=heir.port).get(cache.make_key("product:1")) is not None
    # 0 lost invalidations: every stale key is gone, the promoted replica's copies too.
    deadline = time.monotonic() + 20
    while outbox.pending_count(alias):
        assert time.monotonic() < deadline, "the queued invalidations were not replayed"
        time.sleep(0.05)  # waiting for the replay thread, not ordering a race
    assert cache.get_many(stale) == {}
    for key in stale:  # asked of the node that serves each key now, the promoted one too
        node = cluster.node_for_slot(backend.keyslot(cache.make_key(key)))
        client = redis.Redis(port=node.port)
        assert client.exists(cache.make_key(key)) == 0, (key, node.port)
        client.close()

    # The dashboard shows the failover: the promoted replica as a primary with the slots,
    # the failed node as down.
    body = admin.get(reverse("admin:cache_admin_dashboard")).content.decode()
    rows = {
        name: (role, int(slots), down)
        for name, role, slots, down in re.findall(
            r'data-node="([^"]+)" data-role="([^"]+)" data-slots="(\d+)" data-down="([01])"', body
        )
    }
    assert rows[f"127.0.0.1:{heir.port}"][0] == "primary" and rows[f"127.0.0.1:{heir.port}"][1] > 0
    assert rows[f"127.0.0.1:{victim.port}"][2] == "1"
    assert f"127.0.0.1:{victim.port}" in body[body.index('id="cache-admin-nodes-down"') :]
    assert "Cluster, summed over the 3 primaries that answer" in body
