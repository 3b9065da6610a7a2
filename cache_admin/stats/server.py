"""Redis server figures from INFO, merged over the primary nodes; never raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cache_admin import backend
from cache_admin.guard import guarded

# The spec's thresholds ("Monitor hit rate"): above 90% target, above 70% acceptable.
TARGET = 0.90
ACCEPTABLE = 0.70

_SUMMED = (
    "used_memory",
    "maxmemory",
    "instantaneous_ops_per_sec",
    "evicted_keys",
    "expired_keys",
    "connected_clients",
    "keyspace_hits",
    "keyspace_misses",
    "total_commands_processed",
)


def hit_rate_level(rate: float | None) -> str | None:
    """ "target", "acceptable" or "poor" for a hit rate from 0 to 1; None without traffic."""
    if rate is None:
        return None
    if rate > TARGET:
        return "target"
    if rate > ACCEPTABLE:
        return "acceptable"
    return "poor"


@dataclass(frozen=True)
class ServerStatus:
    connected: bool
    error: str | None = None
    version: str | None = None
    uptime_seconds: int | None = None
    used_memory: int | None = None
    maxmemory: int | None = None  # None: no limit configured
    fragmentation: float | None = None
    eviction_policy: str | None = None
    keys_per_db: dict[str, int] = field(default_factory=dict)
    ops_per_sec: int | None = None
    evicted_keys: int | None = None
    expired_keys: int | None = None
    connected_clients: int | None = None
    keyspace_hits: int | None = None
    keyspace_misses: int | None = None
    total_commands: int | None = None
    nodes: int = 0

    @property
    def memory_fraction(self) -> float | None:
        if not self.maxmemory or self.used_memory is None:
            return None
        return self.used_memory / self.maxmemory

    @property
    def memory_percent(self) -> float | None:
        fraction = self.memory_fraction
        return None if fraction is None else round(fraction * 100, 1)

    @property
    def total_keys(self) -> int:
        return sum(self.keys_per_db.values())

    @property
    def hit_rate(self) -> float | None:
        """Server-wide keyspace hits over lookups, from 0 to 1 (every client counts)."""
        if self.keyspace_hits is None or self.keyspace_misses is None:
            return None
        lookups = self.keyspace_hits + self.keyspace_misses
        return self.keyspace_hits / lookups if lookups else None

    @property
    def hit_rate_percent(self) -> float | None:
        rate = self.hit_rate
        return None if rate is None else round(rate * 100, 1)

    @property
    def hit_rate_level(self) -> str | None:
        return hit_rate_level(self.hit_rate)


def read_infos() -> list[dict[str, Any]]:
    """INFO of every primary node; raises RedisUnavailable."""
    return guarded(lambda: [dict(client.info()) for client in backend.primary_clients()])


def merge(infos: list[dict[str, Any]]) -> ServerStatus:
    sums = {name: sum(int(info.get(name) or 0) for info in infos) for name in _SUMMED}
    keys: dict[str, int] = {}
    for info in infos:
        for name, value in info.items():
            if name.startswith("db") and name[2:].isdigit() and isinstance(value, dict):
                keys[name] = keys.get(name, 0) + int(value.get("keys", 0))
    first = infos[0]
    fragmentation = [
        float(i["mem_fragmentation_ratio"]) for i in infos if "mem_fragmentation_ratio" in i
    ]
    versions = sorted(
        {str(i.get("redis_version") or i.get("valkey_version") or "?") for i in infos}
    )
    return ServerStatus(
        connected=True,
        version=", ".join(versions),
        uptime_seconds=min(int(i.get("uptime_in_seconds") or 0) for i in infos),
        used_memory=sums["used_memory"],
        maxmemory=sums["maxmemory"] or None,
        fragmentation=max(fragmentation) if fragmentation else None,
        eviction_policy=str(first.get("maxmemory_policy") or "") or None,
        keys_per_db=dict(sorted(keys.items(), key=lambda kv: int(kv[0][2:]))),
        ops_per_sec=sums["instantaneous_ops_per_sec"],
        evicted_keys=sums["evicted_keys"],
        expired_keys=sums["expired_keys"],
        connected_clients=sums["connected_clients"],
        keyspace_hits=sums["keyspace_hits"],
        keyspace_misses=sums["keyspace_misses"],
        total_commands=sums["total_commands_processed"],
        nodes=len(infos),
    )


def server_status() -> ServerStatus:
    try:
        infos = read_infos()
    except Exception as exc:  # a status call is for showing: it reports, it never raises
        return ServerStatus(connected=False, error=str(exc) or type(exc).__name__)
    if not infos:
        return ServerStatus(connected=False, error="No Redis node is configured.")
    return merge(infos)
