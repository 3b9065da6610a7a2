"""What the counters count (events, miss reasons, ``Counts``), and the counts read back
from Redis: every process's flushed tally summed, this process's pending one included."""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, fields

from cache_admin import backend, stored_keys
from cache_admin.counter_flush import HISTORY_SECONDS, flush, shards_for, stats_key
from cache_admin.guard import guarded

# Why a lookup missed, where the package can tell (each miss has at most one):
ABSENT = "absent"  # nothing under the key: never filled, expired, evicted, or deleted
INVALIDATED = "invalidated"  # an entry of other generation tokens: its lists were invalidated
LEASE_WAIT = "lease_wait"  # another process was filling it: this lookup waited for that fill
REASONS = (ABSENT, INVALIDATED, LEASE_WAIT)
EVENTS = ("hits", "misses", "fills", "errors", "invalidations", *REASONS)


@dataclass(frozen=True)
class Counts:
    hits: int = 0
    misses: int = 0
    fills: int = 0
    errors: int = 0
    invalidations: int = 0
    # Misses by reason (REASONS); misses counted without one are in none of them.
    absent: int = 0
    invalidated: int = 0
    lease_wait: int = 0

    @property
    def reasons(self) -> dict[str, int]:
        """Misses per reason, in REASONS order."""
        return {reason: getattr(self, reason) for reason in REASONS}

    @property
    def unexplained(self) -> int:
        """Misses counted without a reason (a project's own ``miss(type)`` calls)."""
        return max(0, self.misses - sum(self.reasons.values()))

    @property
    def hit_rate(self) -> float | None:
        """Hits over lookups, from 0 to 1; None when there was no lookup."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else None

    @property
    def lookups(self) -> int:
        return self.hits + self.misses

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def _parse(rows: list[dict[bytes, bytes]]) -> dict[str, Counts]:
    sums: dict[str, Counter[str]] = {}
    for row in rows:
        for raw_field, raw_count in row.items():
            type_name, _, event = raw_field.decode(errors="replace").rpartition(":")
            if event not in EVENTS or not type_name:
                continue
            try:
                count = int(raw_count)
            except ValueError:
                continue
            sums.setdefault(type_name, Counter())[event] += count
    return {name: Counts(**{e: c[e] for e in EVENTS}) for name, c in sorted(sums.items())}


def type_stats(window_seconds: float = 300) -> dict[str, Counts]:
    """Counts per type over the last ``window_seconds`` (whole minutes, at most 2 hours),
    this process's pending tally included. Raises ``backend.REDIS_ERRORS`` when unreachable."""
    return {name: sum(minutes, Counts()) for name, minutes in type_minutes(window_seconds).items()}


def type_minutes(window_seconds: float = 3600) -> dict[str, list[Counts]]:
    """Counts per type for each minute of the last ``window_seconds``, oldest first (what
    happened when: the dashboard's hints tell a bulk load from traffic)."""
    flush()
    cache = backend.get_cache()
    now = int(time.time()) // 60
    span = min(max(1, math.ceil(float(window_seconds) / 60)), HISTORY_SECONDS // 60)

    def read() -> tuple[int, list[dict[bytes, bytes]]]:
        client = backend.client(cache)  # on a cluster, made (and so failing) here
        shards = shards_for(client)
        pipe = client.pipeline(transaction=False)
        for minute in range(now - span + 1, now + 1):
            for shard in shards:
                pipe.hgetall(stored_keys.stored_key(stats_key(minute, shard), cache))
        return len(shards), list(pipe.execute())

    per_minute, found = guarded(read)
    rows = [_parse(found[i : i + per_minute]) for i in range(0, len(found), per_minute)]
    names = sorted({name for row in rows for name in row})
    return {name: [row.get(name, Counts()) for row in rows] for name in names}


def totals() -> dict[str, Counts]:
    """All-time counts per type (what Prometheus exports as counters)."""
    flush()
    cache = backend.get_cache()

    def read() -> list[dict[bytes, bytes]]:
        client = backend.client(cache)  # on a cluster, made (and so failing) here
        pipe = client.pipeline(transaction=False)
        for shard in shards_for(client):
            pipe.hgetall(stored_keys.stored_key(stats_key("total", shard), cache))
        return list(pipe.execute())

    return _parse(guarded(read))


def overall(stats: dict[str, Counts]) -> Counts:
    total = Counts()
    for counts in stats.values():
        total = total + counts
    return total
