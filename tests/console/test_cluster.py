"""The console on the session's Redis Cluster (3 primaries, 3 replicas), through each
cluster backend: the dashboard sums the primaries and lists every node; key detail, TTL
edit, delete, prefix deletion and the warm page work as on one server."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from cache_admin import backend, counters, deletion_jobs
from cache_admin.keyspace import key_token
from cache_admin.models import AuditEntry
from cache_admin.warming import register_warmer
from tests.console.test_warm import warm_staff

pytestmark = pytest.mark.cluster

DASHBOARD = "admin:cache_admin_dashboard"
STATS = "admin:cache_admin_dashboard_stats"


def nodes_table(body: str) -> list[dict[str, str]]:
    table = body[body.index('id="cache-admin-nodes"') :]
    table = table[: table.index("</table>")]
    return [
        {"name": name, "role": role, "slots": slots, "down": down}
        for name, role, slots, down in re.findall(
            r'data-node="([^"]+)" data-role="([^"]+)" data-slots="(\d+)" data-down="([01])"', table
        )
    ]


def spread_keys(alias: str, count: int) -> list[str]:
    """``count`` keys of the site, and the primaries they landed on (at least two)."""
    cache = caches[alias]
    cache.set_many({f"product:{n}": n for n in range(count)})
    owners = {backend.node_for_key(cache.make_key(f"product:{n}")).name for n in range(count)}
    assert len(owners) == 3
    return sorted(owners)


def test_dashboard_sums_the_primaries_and_lists_every_node(
    cluster_alias: str, admin_client: Client, redis_client: redis.Redis
) -> None:
    spread_keys(cluster_alias, 60)
    response = admin_client.get(reverse(DASHBOARD))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Redis is connected." in body
    assert "Cluster, summed over the 3 primaries that answer" in body
    keys = re.search(r"db0: (\d+)", body)  # both flavours: a figure, or unfold's card
    assert keys is not None and int(keys.group(1)) >= 60  # ~20 on each primary
    assert 'id="cache-admin-nodes-down"' not in body
    rows = nodes_table(body)
    nodes = backend.nodes()
    assert [(row["name"], row["role"]) for row in rows] == [
        (node.name, "primary" if node.role == "primary" else "replica") for node in nodes
    ]
    assert [row["role"] for row in rows] == ["primary"] * 3 + ["replica"] * 3
    assert all(row["down"] == "0" for row in rows)
    assert sum(int(row["slots"]) for row in rows) == backend.SLOTS
    assert all(int(row["slots"]) > 0 for row in rows[:3])


def test_hit_rate_is_summed_over_the_primaries(
    cluster_alias: str, admin_client: Client, redis_client: redis.Redis
) -> None:
    # Hits on one primary only, misses on another only: one node's rate is ~100 %, the
    # other's ~0 %; the dashboard's is the sum of the hits over the sum of the lookups.
    cache = caches[cluster_alias]
    spread_keys(cluster_alias, 60)
    first, second = (client.info("server")["tcp_port"] for client in backend.primary_clients()[:2])

    def on(port: int, name: str) -> bool:
        return backend.node_for_key(cache.make_key(name)).name.endswith(f":{port}")

    hits = [name for name in (f"product:{n}" for n in range(60)) if on(first, name)]
    misses = [name for name in (f"missing:{n}" for n in range(200)) if on(second, name)][:10]
    counters.record("product_detail", "hits", 1000)  # the site's own lookups: enough to judge
    counters.flush()
    redis_client.config_resetstat(target_nodes=redis.cluster.RedisCluster.PRIMARIES)  # type: ignore[call-arg]
    for _ in range(150):
        cache.get_many(hits)  # ~3000 hits
        for name in misses:
            cache.get(name)  # 1500 misses
    body = admin_client.get(reverse(STATS)).content.decode()
    infos = [client.info("stats") for client in backend.primary_clients()]
    summed_hits = sum(info["keyspace_hits"] for info in infos)
    summed = summed_hits / sum(info["keyspace_hits"] + info["keyspace_misses"] for info in infos)
    rate = re.search(r'id="cache-admin-server-rate">([\d.]+)%', body)
    assert rate is not None
    # The INFO read after the page: the same sums, give or take the page's last reads.
    assert abs(float(rate.group(1)) - summed * 100) < 1.0
    assert 40 < float(rate.group(1)) < 80  # neither the first node's ~100 % nor the second's ~0 %


def url(name: str, alias: str, logical: str) -> str:
    return reverse(f"admin:{name}", args=[key_token(caches[alias].make_key(logical).encode())])


def test_key_detail_ttl_and_delete_go_to_the_keys_node(
    cluster_alias: str, admin_client: Client, redis_client: redis.Redis, superuser: Any
) -> None:
    cache = caches[cluster_alias]
    names = [f"product:{n}" for n in range(12)]
    cache.set_many({name: {"name": name} for name in names}, None)
    for name in names:  # keys on every primary
        body = admin_client.get(url("cache_admin_key_detail", cluster_alias, name))
        assert body.status_code == 200
        assert name in body.content.decode()
    stored = cache.make_key("product:7")
    response = admin_client.post(
        url("cache_admin_key_ttl", cluster_alias, "product:7"), {"ttl": "120"}
    )
    assert response.status_code == 302
    assert 0 < redis_client.ttl(stored) <= 120
    assert backend.node_for_key(stored).client.ttl(stored) > 0  # on the node itself
    response = admin_client.post(url("cache_admin_key_delete", cluster_alias, "product:7"))
    assert response.status_code == 302
    assert cache.get("product:7") is None
    assert cache.get("product:8") == {"name": "product:8"}
    assert sorted(AuditEntry.objects.values_list("action", flat=True)) == ["delete_key", "set_ttl"]


def test_prefix_delete_counts_and_deletes_across_nodes(
    cluster_alias: str, transactional_db: None, admin_client: Client, neighbour: Any
) -> None:
    cache = caches[cluster_alias]
    spread_keys(cluster_alias, 50)
    cache.set("category:1", 1)
    neighbour.set("product:1", "theirs")
    dry = admin_client.get(reverse("admin:cache_admin_prefix_delete"), {"prefix": "product:"})
    assert dry.status_code == 200
    assert "50 keys of this site start with “product:”" in dry.content.decode()
    assert cache.get("product:0") == 0  # a dry run deletes nothing
    response = admin_client.post(reverse("admin:cache_admin_prefix_delete"), {"prefix": "product:"})
    assert response.status_code == 302
    job_id = response["Location"].rstrip("/").split("/")[-1]
    assert deletion_jobs.join(job_id, timeout=30)
    status = admin_client.get(reverse("admin:cache_admin_prefix_delete_status", args=[job_id]))
    assert "Done: 50 keys deleted." in status.content.decode()
    assert json.loads(status["HX-Trigger"]) == {"cacheAdminRefresh": {}}
    assert cache.get_many([f"product:{n}" for n in range(50)]) == {}
    assert cache.get("category:1") == 1
    assert neighbour.get("product:1") == "theirs"


@pytest.mark.celery
def test_warm_page_runs_a_warmer_on_the_cluster(
    cluster_alias: str, celery_worker: Any, transactional_db: None, warmer_registry: Any
) -> None:
    from celery.result import AsyncResult

    from cache_admin.models import WarmRun

    register_warmer(
        "products",
        lambda p: [p.write(f"product:{n}", n) for n in range(20)] and 20,
        label="Products",
    )
    client = warm_staff()
    response = client.post(reverse("admin:cache_admin_warm"), {"warmer": "products"}, follow=True)
    assert "Sent to Celery: Products." in response.content.decode()
    AsyncResult(WarmRun.objects.get().task_id).get(timeout=20)
    status = client.get(reverse("admin:cache_admin_warm_status")).content.decode()
    assert 'data-warmer="products" data-status="succeeded" data-percent="100"' in status
    assert caches[cluster_alias].get_many([f"product:{n}" for n in range(20)]) == {
        f"product:{n}": n for n in range(20)
    }
