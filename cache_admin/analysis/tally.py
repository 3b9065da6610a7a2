"""What one node's sample adds up to: keys, memory and TTLs per group, the largest keys.

Figures are raw counts of the keys sampled on that node; :meth:`NodeTally.scale` is what
each sampled key stands for when the walk did not cover the node's whole keyspace.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any

# Remaining-TTL buckets: no expiry, then below each limit (seconds), then longer.
TTL_BUCKETS = ("none", "1m", "10m", "1h", "1d", "longer")
_LIMITS = (60, 600, 3600, 86400)
NO_EXPIRY = 0
# The largest keys, and the largest keys without a TTL, kept per node and in the report.
TOP_KEYS = 20
# Distinct namespaces counted per node; further ones are added up under OTHER.
MAX_NAMESPACES = 2000
OTHER = "…"


def ttl_bucket(ttl: int | None) -> int:
    """The bucket of a remaining TTL in seconds; None is a key without expiry."""
    if ttl is None:
        return NO_EXPIRY
    for index, limit in enumerate(_LIMITS, start=1):
        if ttl < limit:
            return index
    return len(_LIMITS) + 1


@dataclass
class Group:
    """Keys of one cache type, namespace or Redis type. Numbers may be scaled (floats)."""

    keys: float = 0
    memory: float = 0
    ttl: list[float] = field(default_factory=lambda: [0] * len(TTL_BUCKETS))
    no_ttl_memory: float = 0
    # Keys whose remaining TTL is above their type's effective TTL (plus jitter).
    over_ttl: float = 0
    # Unscaled: keys actually looked at, and the longest remaining TTL among them.
    sampled: int = 0
    max_ttl: int = 0

    def add(self, size: int, ttl: int | None, over_ttl: bool) -> None:
        self.keys += 1
        self.sampled += 1
        self.memory += size
        bucket = ttl_bucket(ttl)
        self.ttl[bucket] += 1
        if bucket == NO_EXPIRY:
            self.no_ttl_memory += size
        else:
            self.max_ttl = max(self.max_ttl, ttl or 0)
        self.over_ttl += over_ttl

    def add_scaled(self, other: Group, scale: float) -> None:
        self.keys += other.keys * scale
        self.memory += other.memory * scale
        self.ttl = [mine + theirs * scale for mine, theirs in zip(self.ttl, other.ttl, strict=True)]
        self.no_ttl_memory += other.no_ttl_memory * scale
        self.over_ttl += other.over_ttl * scale
        self.sampled += other.sampled
        self.max_ttl = max(self.max_ttl, other.max_ttl)

    @property
    def no_ttl(self) -> float:
        return self.ttl[NO_EXPIRY]

    def as_dict(self) -> dict[str, Any]:
        return {
            "keys": round(self.keys),
            "sampled": self.sampled,
            "memory": round(self.memory),
            "ttl": [round(n) for n in self.ttl],
            "no_ttl": round(self.no_ttl),
            "no_ttl_memory": round(self.no_ttl_memory),
            "over_ttl": round(self.over_ttl),
            "max_ttl": self.max_ttl,
        }


@dataclass(frozen=True)
class KeyFact:
    """One sampled key, as the report names it (the largest keys, keys without TTL)."""

    stored: str  # readable text of the stored name
    logical: str | None  # None outside the site's namespace
    token: str  # the key browser's link token
    group: str  # cache type name, or one of the pseudo-types
    redis_type: str
    ttl: int | None
    size: int
    node: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "logical": self.logical,
            "token": self.token,
            "group": self.group,
            "redis_type": self.redis_type,
            "ttl": self.ttl,
            "size": self.size,
            "node": self.node,
        }


class TopKeys:
    """The ``limit`` largest keys offered, in a bounded heap."""

    def __init__(self, limit: int = TOP_KEYS) -> None:
        self.limit = limit
        self._heap: list[tuple[int, int, KeyFact]] = []
        self._order = itertools.count()  # ties: the first offered stays

    def offer(self, fact: KeyFact) -> None:
        item = (fact.size, -next(self._order), fact)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, item)
        elif item[:2] > self._heap[0][:2]:
            heapq.heapreplace(self._heap, item)

    def largest(self) -> list[KeyFact]:
        return [fact for *_rank, fact in sorted(self._heap, key=lambda i: i[:2], reverse=True)]


@dataclass
class NodeTally:
    node: str
    keys: int  # DBSIZE when the walk started
    used_memory: int | None  # INFO used_memory
    examined: int = 0  # SCAN's budget spent (its COUNT hints)
    complete: bool = False  # the walk covered the node's keyspace: its figures are exact
    types: dict[str, Group] = field(default_factory=dict)
    namespaces: dict[str, Group] = field(default_factory=dict)
    redis_types: dict[str, Group] = field(default_factory=dict)
    biggest: TopKeys = field(default_factory=TopKeys)
    leaks: TopKeys = field(default_factory=TopKeys)
    sampled: int = 0

    @property
    def scale(self) -> float:
        """How many keys of the node each sampled key stands for."""
        if self.complete or not self.sampled:
            return 1.0
        return max(self.keys, self.sampled) / self.sampled

    def add(self, fact: KeyFact, namespace: str | None, over_ttl: bool, leak: bool) -> None:
        self.sampled += 1
        _group(self.types, fact.group).add(fact.size, fact.ttl, over_ttl)
        _group(self.redis_types, fact.redis_type).add(fact.size, fact.ttl, False)
        if namespace is not None:
            if namespace not in self.namespaces and len(self.namespaces) >= MAX_NAMESPACES:
                namespace = OTHER
            _group(self.namespaces, namespace).add(fact.size, fact.ttl, over_ttl)
        self.biggest.offer(fact)
        if leak:
            self.leaks.offer(fact)


def _group(groups: dict[str, Group], name: str) -> Group:
    found = groups.get(name)
    if found is None:
        found = groups[name] = Group()
    return found
