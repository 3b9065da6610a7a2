"""Hit rate and ops/s history, sampled into the package's namespace in Redis.

Any process may call :func:`sample`; a SET NX PX lock lets one sample through every
``SAMPLE_INTERVAL`` seconds however many processes try, and the points live in a capped
sorted set, so every process reads the same history and it survives reloads and restarts
of the web processes. Times come from the Redis server's clock (no clock sync needed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from cache_admin import backend
from cache_admin.conf import conf
from cache_admin.keyspace.guard import guarded
from cache_admin.stats.server import merge

SAMPLE_INTERVAL = 5.0
MAX_POINTS = 2000  # a little under 3 hours at one point every 5 s
KEEP_SECONDS = 24 * 3600
EXPIRE_SECONDS = 2 * 24 * 3600  # an abandoned history goes away by itself


@dataclass(frozen=True)
class HistoryPoint:
    time: float  # epoch seconds (Redis server clock)
    hit_rate: float | None  # keyspace hits over lookups since the previous point, 0 to 1
    ops_per_sec: float | None  # commands per second since the previous point
    hits: int  # cumulative counters at this time, to compute the next interval
    misses: int
    commands: int

    @property
    def hit_rate_percent(self) -> float | None:
        return None if self.hit_rate is None else round(self.hit_rate * 100, 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "hit_rate": self.hit_rate,
            "hit_rate_percent": self.hit_rate_percent,
            "ops_per_sec": self.ops_per_sec,
        }


def history_key() -> str:
    return backend.stored_key(f"{conf.NAMESPACE}history")


def lock_key() -> str:
    return backend.stored_key(f"{conf.NAMESPACE}history:lock")


def _now(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return float(seconds) + float(micros) / 1e6


def _point(raw: Any) -> HistoryPoint | None:
    try:
        data = json.loads(raw)
        return HistoryPoint(
            float(data["time"]),
            None if data["hit_rate"] is None else float(data["hit_rate"]),
            None if data["ops_per_sec"] is None else float(data["ops_per_sec"]),
            int(data["hits"]),
            int(data["misses"]),
            int(data["commands"]),
        )
    except (ValueError, KeyError, TypeError):
        return None  # a foreign or damaged entry is skipped, not fatal


def next_point(
    previous: HistoryPoint | None, now: float, infos: list[dict[str, Any]]
) -> HistoryPoint:
    status = merge(infos)
    hits, misses = status.keyspace_hits or 0, status.keyspace_misses or 0
    commands = status.total_commands or 0
    rate = ops = None
    if previous is not None and now > previous.time:
        d_hits, d_misses = hits - previous.hits, misses - previous.misses
        d_commands = commands - previous.commands
        # Negative deltas: Redis restarted or CONFIG RESETSTAT ran; that interval is unknown.
        if d_hits >= 0 and d_misses >= 0 and d_commands >= 0:
            rate = d_hits / (d_hits + d_misses) if d_hits + d_misses else None
            ops = round(d_commands / (now - previous.time), 1)
    return HistoryPoint(now, rate, ops, hits, misses, commands)


def sample(force: bool = False) -> HistoryPoint | None:
    """Record a point unless another process did less than SAMPLE_INTERVAL ago.

    Returns the new point, or None when throttled. Raises RedisUnavailable.
    """

    def run() -> HistoryPoint | None:
        client = backend.client()
        interval_ms = int(SAMPLE_INTERVAL * 1000)
        if not client.set(lock_key(), b"1", nx=True, px=interval_ms) and not force:
            return None
        key = history_key()
        pipe = client.pipeline(transaction=False)
        pipe.time()
        pipe.zrange(key, -1, -1)
        (seconds, micros), last = pipe.execute()
        now = float(seconds) + float(micros) / 1e6
        infos = [dict(node.info()) for node in backend.primary_clients()]
        point = next_point(_point(last[0]) if last else None, now, infos)
        member = json.dumps(
            {
                "time": point.time,
                "hit_rate": point.hit_rate,
                "ops_per_sec": point.ops_per_sec,
                "hits": point.hits,
                "misses": point.misses,
                "commands": point.commands,
            }
        )
        pipe = client.pipeline(transaction=False)
        pipe.zadd(key, {member: now})
        pipe.zremrangebyscore(key, "-inf", now - KEEP_SECONDS)
        pipe.zremrangebyrank(key, 0, -(MAX_POINTS + 1))
        pipe.expire(key, EXPIRE_SECONDS)
        pipe.execute()
        return point

    return guarded(run)


def history(window: float = 3600) -> list[HistoryPoint]:
    """Points of the last ``window`` seconds, oldest first. Raises RedisUnavailable."""
    if isinstance(window, bool) or not isinstance(window, (int, float)) or window <= 0:
        raise ValueError("The history window must be a positive number of seconds.")

    def run() -> list[HistoryPoint]:
        client = backend.client()
        low = _now(client) - float(window)
        rows = client.zrangebyscore(history_key(), low, "+inf")
        return [p for p in (_point(row) for row in rows) if p is not None]

    return guarded(run)
