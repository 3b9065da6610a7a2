"""The dashboard on a cluster with a primary down (no replica: its slots wait for it), and
with every node down: a banner and the node table say so, never a 500. A cluster of the
module's own, short socket timeouts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from cache_admin.testing import RedisClusterServer
from tests.cluster_support import own_cluster_alias

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def small_cluster() -> Iterator[RedisClusterServer]:
    # A stopped node is not declared failed for 10 s: the test sees it merely gone.
    with RedisClusterServer(3, 0, node_timeout_ms=10_000) as cluster:
        yield cluster


@pytest.fixture
def alias(small_cluster: RedisClusterServer, settings: Any) -> Iterator[str]:
    with own_cluster_alias(small_cluster, settings, "down_", "cluster") as name:
        yield name


def test_a_primary_down_is_a_banner_and_a_row(
    alias: str, small_cluster: RedisClusterServer, admin_client: Client
) -> None:
    caches[alias].set_many({f"product:{n}": n for n in range(30)})
    assert admin_client.get(reverse("admin:cache_admin_dashboard")).status_code == 200
    # Not the node the client starts from (nodes[0]): the client is made again per test.
    victim = next(node for node in small_cluster.primaries() if node is not small_cluster.nodes[0])
    victim.kill()
    response = admin_client.get(reverse("admin:cache_admin_dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="cache-admin-nodes-down"' in body
    assert f"A node of the cluster does not answer or has failed: 127.0.0.1:{victim.port}." in body
    assert "Cluster, summed over the 2 primaries that answer" in body
    rows = dict(
        re.findall(
            r'data-node="([^"]+)" data-role="primary" data-slots="\d+" data-down="([01])"', body
        )
    )
    assert rows == {
        f"127.0.0.1:{node.port}": "1" if node is victim else "0" for node in small_cluster.nodes
    }
    stats = admin_client.get(reverse("admin:cache_admin_dashboard_stats"))
    assert stats.status_code == 200 and 'id="cache-admin-nodes-down"' in stats.content.decode()


def test_every_node_down_is_the_unreachable_banner(
    alias: str, small_cluster: RedisClusterServer, admin_client: Client
) -> None:
    caches[alias].set("product:1", 1)  # the client knows the topology
    for node in small_cluster.nodes:
        node.kill()
    for name in ("admin:cache_admin_dashboard", "admin:cache_admin_dashboard_stats"):
        response = admin_client.get(reverse(name))
        assert response.status_code == 200
        body = response.content.decode()
        assert "Redis is not reachable." in body
        assert "Traceback" not in body
