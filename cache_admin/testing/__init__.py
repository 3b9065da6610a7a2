"""Throwaway Redis servers for tests and demos: one server (``RedisServer``) or a Redis
Cluster (``RedisClusterServer``), on free ports of 127.0.0.1, gone when stopped.

Used by the test suite, the demo and the benchmarks; a project can use them in its own tests.
"""

from __future__ import annotations

from cache_admin.testing.cluster import ClusterNodeServer, RedisClusterServer
from cache_admin.testing.server import (
    RedisServer,
    ServerNotFound,
    find_server_binary,
    free_port,
    populate,
)

__all__ = [
    "ClusterNodeServer",
    "RedisClusterServer",
    "RedisServer",
    "ServerNotFound",
    "find_server_binary",
    "free_port",
    "populate",
]
