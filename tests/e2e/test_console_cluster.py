"""The console in Chromium on the session's Redis Cluster (3 primaries, 3 replicas): the
dashboard's summed figures and node table, and the key browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import caches

from cache_admin import backend

pytestmark = pytest.mark.cluster


@pytest.fixture
def on_cluster(cluster_url: str, settings: Any) -> str:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": "cluster"}
    return "cluster"


def test_dashboard_and_key_browser_on_a_cluster(
    on_cluster: str, console: Any, shot: Callable[[str], Any]
) -> None:
    cache = caches[on_cluster]
    cache.set_many({f"product:{n}": {"id": n, "name": f"Product {n}"} for n in range(30)})
    cache.set("category:electronics", {"name": "Electronics"})
    owners = {backend.node_for_key(cache.make_key(f"product:{n}")).name for n in range(30)}
    assert len(owners) == 3  # keys on every primary

    console.goto(console.url_for("/admin/cache/dashboard/"))
    console.wait_for_selector("#cache-admin-nodes")
    text = console.inner_text("#cache-admin-stats")
    assert "Redis is connected." in text
    assert "Cluster, summed over the 3 primaries that answer" in text
    assert console.locator("#cache-admin-nodes tr[data-role='primary']").count() == 3
    assert console.locator("#cache-admin-nodes tr[data-role='replica']").count() == 3
    assert console.locator("#cache-admin-nodes tr[data-down='1']").count() == 0
    # The node table fits the page: nothing pushes it sideways at the default width.
    assert console.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    shot("cluster-dashboard")

    console.goto(console.url_for("/admin/cache/keys/?prefix=product%3A"))
    console.wait_for_selector("#cache-admin-keys")
    listing = console.inner_text("#cache-admin-key-rows")
    assert all(f"product:{n}\t" in listing or f"product:{n}\n" in listing for n in range(30))
    assert "category:electronics" not in listing
    shot("cluster-keys")
    assert console.js_errors == []
