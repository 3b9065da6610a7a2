"""Hit rate and ops/s history, sampled into the package's namespace in Redis.

Any process may call :func:`sample`; a SET NX PX lock lets one sample through every
``SAMPLE_INTERVAL`` seconds however many processes try, and the points live in a capped
sorted set, so every process reads the same history and it survives reloads and restarts
of the web processes. Times come from the Redis server's clock (no clock sync needed).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

import redis

from cache_admin import backend, stored_keys
from cache_admin.conf import conf
from cache_admin.guard import guarded
from cache_admin.stats.server import merge

SAMPLE_INTERVAL = 5.0
MAX_POINTS = 2000  # a little under 3 hours at one point every 5 s
KEEP_SECONDS = 24 * 3600
EXPIRE_SECONDS = 2 * 24 * 3600  # an abandoned history goes away by itself


@dataclass(frozen=True)
class HistoryPoint:
    time: float  # epoch seconds (Redis server clock)
    # Hits over lookups since the previous point, 0 to 1: from the toolkit's per-type
    # counters when the site made lookups through it (the package's own keys are not
    # counted), else from the server's keyspace figures; ``source`` says which.
    hit_rate: float | None
    ops_per_sec: float | None  # commands per second since the previous point
    hits: int  # cumulative server counters at this time, to compute the next interval
    misses: int
    commands: int
    app_hits: int = 0  # cumulative toolkit counters (all types, all processes)
    app_misses: int = 0
    server_hit_rate: float | None = None
    source: str = "server"  # "application" | "server"

    @property
    def hit_rate_percent(self) -> float | None:
        return None if self.hit_rate is None else round(self.hit_rate * 100, 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "hit_rate": self.hit_rate,
            "hit_rate_percent": self.hit_rate_percent,
            "ops_per_sec": self.ops_per_sec,
            "server_hit_rate": self.server_hit_rate,
            "source": self.source,
        }


def history_key() -> str:
    return stored_keys.stored_key(f"{conf.NAMESPACE}history")


def lock_key() -> str:
    return stored_keys.stored_key(f"{conf.NAMESPACE}history:lock")


def _now(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return float(seconds) + float(micros) / 1e6


_FIELDS = ("time", "hit_rate", "ops_per_sec", "hits", "misses", "commands")
_OPTIONAL = ("app_hits", "app_misses", "server_hit_rate", "source")


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _point(raw: Any) -> HistoryPoint | None:
    try:
        data = json.loads(raw)
        return HistoryPoint(
            float(data["time"]),
            _optional_float(data["hit_rate"]),
            _optional_float(data["ops_per_sec"]),
            int(data["hits"]),
            int(data["misses"]),
            int(data["commands"]),
            int(data.get("app_hits", 0)),
            int(data.get("app_misses", 0)),
            _optional_float(data.get("server_hit_rate")),
            str(data.get("source", "server")),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # a foreign or damaged entry is skipped, not fatal


def _rate(hits: int, misses: int) -> float | None:
    return hits / (hits + misses) if hits + misses > 0 else None


def next_point(
    previous: HistoryPoint | None,
    now: float,
    infos: list[dict[str, Any]],
    app: tuple[int, int] = (0, 0),
) -> HistoryPoint:
    status = merge(infos)
    hits, misses = status.keyspace_hits or 0, status.keyspace_misses or 0
    commands = status.total_commands or 0
    app_hits, app_misses = app
    server = rate = ops = None
    source = "server"
    if previous is not None and now > previous.time:
        d_hits, d_misses = hits - previous.hits, misses - previous.misses
        d_commands = commands - previous.commands
        # Negative deltas: Redis restarted or CONFIG RESETSTAT ran; that interval is unknown.
        if d_hits >= 0 and d_misses >= 0 and d_commands >= 0:
            server = rate = _rate(d_hits, d_misses)
            ops = round(d_commands / (now - previous.time), 1)
        d_app_hits, d_app_misses = app_hits - previous.app_hits, app_misses - previous.app_misses
        if d_app_hits >= 0 and d_app_misses >= 0 and d_app_hits + d_app_misses > 0:
            rate, source = _rate(d_app_hits, d_app_misses), "application"
    return HistoryPoint(
        now, rate, ops, hits, misses, commands, app_hits, app_misses, server, source
    )


def _app_totals() -> tuple[int, int]:
    """Hits and misses counted by the toolkit, all types and processes (0, 0 if unknown)."""
    try:
        from cache_admin import counter_totals

        total = counter_totals.overall(counter_totals.totals())
    except Exception:
        return 0, 0
    return int(total.hits), int(total.misses)


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
        # valkey-py's cluster pipeline refuses pipe.time(); the command itself goes through.
        pipe.execute_command("TIME")  # type: ignore[no-untyped-call]
        pipe.zrange(key, -1, -1)
        (seconds, micros), last = pipe.execute()
        now = float(seconds) + float(micros) / 1e6
        infos = [dict(node.info()) for node in backend.primary_clients()]
        previous = _point(last[0]) if last else None
        point = next_point(previous, now, infos, _app_totals())
        member = json.dumps({name: getattr(point, name) for name in _FIELDS + _OPTIONAL})
        pipe = client.pipeline(transaction=False)
        pipe.zadd(key, {member: now})
        pipe.zremrangebyscore(key, "-inf", now - KEEP_SECONDS)
        pipe.zremrangebyrank(key, 0, -(MAX_POINTS + 1))
        pipe.expire(key, EXPIRE_SECONDS)
        pipe.execute()
        return point

    return guarded(run)


_last_background_try = 0.0


def sample_in_background() -> None:
    """The counters thread's hook: keep the history filling while nobody has the dashboard
    open. Each process tries once per SAMPLE_INTERVAL and the lock lets one through."""
    global _last_background_try
    now = time.monotonic()
    if now - _last_background_try < SAMPLE_INTERVAL or not conf.HISTORY_SAMPLING:
        return
    _last_background_try = now
    with contextlib.suppress(Exception):  # an outage is the breaker's and the banner's news
        sample()


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
