"""Shared set-up for the Redis Cluster benchmarks: the primaries at the raised priority the
one-server benchmarks give their Redis, and a fast fill that writes to each primary the
keys whose slots it owns (a cluster node refuses the others, so ``populate``'s script,
which writes keys it is not given, cannot run there)."""

from __future__ import annotations

import os
from typing import Any

import redis
from _common import default_nice
from redis.crc import key_slot

from cache_admin.testing import RedisClusterServer

FILL_CHUNK = 20_000  # SETs per pipeline round trip


def cluster_cache(url: str, timeout: float = 5) -> dict[str, Any]:
    """A CACHES entry: the package's ``RedisClusterCache`` on ``url``, KEY_PREFIX "bench"."""
    return {
        "BACKEND": "cache_admin.backends.cluster.RedisClusterCache",
        "LOCATION": url,
        "KEY_PREFIX": "bench",
        "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": timeout},
    }


def renice(cluster: RedisClusterServer) -> None:
    for node in cluster.primaries():
        if default_nice() and node.process is not None:
            os.setpriority(os.PRIO_PROCESS, node.process.pid, default_nice())


def primaries(cluster: RedisClusterServer) -> list[redis.Redis]:
    return [redis.Redis(port=node.port, socket_timeout=120) for node in cluster.primaries()]


def owners(cluster: RedisClusterServer) -> list[int]:
    """For each of the 16384 slots, the index of its primary in ``cluster.primaries()``."""
    ports = [node.port for node in cluster.primaries()]
    states = [state for state in cluster.states() if state.port in ports]
    owner = [-1] * RedisClusterServer.SLOTS
    for state in states:
        for slot in range(RedisClusterServer.SLOTS):
            if state.serves(slot):
                owner[slot] = ports.index(state.port)
    return owner


def fill(
    nodes: list[redis.Redis], slot_owner: list[int], prefix: str, count: int, value: bytes
) -> None:
    """Write ``<prefix>0`` ... ``<prefix>{count-1}`` holding ``value``, each on its primary."""
    pipes = [node.pipeline(transaction=False) for node in nodes]
    queued = [0] * len(nodes)
    for i in range(count):
        key = f"{prefix}{i}".encode()
        owner = slot_owner[key_slot(key)]
        pipes[owner].set(key, value)
        queued[owner] += 1
        if queued[owner] == FILL_CHUNK:
            pipes[owner].execute()
            queued[owner] = 0
    for pipe in pipes:
        pipe.execute()


def dbsize(nodes: list[redis.Redis]) -> int:
    return sum(int(node.dbsize()) for node in nodes)
