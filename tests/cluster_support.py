"""A test module's own Redis Cluster (one it may break: kill, pause, fail over) as the
configured cache."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from cache_admin.invalidation import outbox
from cache_admin.testing import RedisClusterServer
from tests.settings import cluster_caches

SOCKET_TIMEOUT = 0.3


@contextlib.contextmanager
def own_cluster_alias(
    cluster: RedisClusterServer, settings: Any, prefix: str, alias: str, **admin: Any
) -> Iterator[str]:
    """The cluster's aliases (``cluster_caches`` named ``prefix``..., short socket
    timeouts) in CACHES, ``prefix + alias`` the configured cache with ``admin`` settings
    over the test ones, the cluster emptied. Afterwards the cluster is whole again: every
    stopped node is started (a failed primary comes back as a replica of its successor)
    and the outbox is emptied."""
    name = prefix + alias
    settings.CACHES = {
        **settings.CACHES,
        **cluster_caches(cluster.url, timeout=SOCKET_TIMEOUT, prefix=prefix),
    }
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": name, **admin}
    cluster.flush()
    try:
        yield name
    finally:
        outbox.clear()
        for node in cluster.nodes:
            if node.process is None:
                node.start()
            node.resume()
        cluster.wait_until_ready()
