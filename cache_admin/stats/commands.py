"""Top commands of one node by calls and by time (``INFO commandstats``), and its latency
events (``LATENCY LATEST``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import redis

from cache_admin.client_errors import RESPONSE_ERRORS
from cache_admin.stats.slowlog import text

TOP = 15


@dataclass(frozen=True)
class CommandStat:
    name: str  # "get", "client|list"
    calls: int
    microseconds: int  # in all
    failed: int  # failed and rejected calls

    @property
    def per_call(self) -> float:
        return self.microseconds / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class TopCommands:
    by_calls: list[CommandStat]
    by_time: list[CommandStat]
    total: int  # distinct commands seen


@dataclass(frozen=True)
class LatencyEvent:
    event: str  # "command", "fast-command", "expire-cycle", ...
    latest: datetime
    latest_ms: int
    max_ms: int


def _number(stats: dict[str, Any], name: str) -> int:
    try:
        return int(float(stats.get(name) or 0))
    except (TypeError, ValueError):
        return 0


def top_commands(client: redis.Redis, top: int = TOP) -> TopCommands:
    found = []
    for name, stats in client.info("commandstats").items():
        if not (isinstance(stats, dict) and str(name).startswith("cmdstat_")):
            continue
        found.append(
            CommandStat(
                name=text(str(name).removeprefix("cmdstat_"), 60),
                calls=_number(stats, "calls"),
                microseconds=_number(stats, "usec"),
                failed=_number(stats, "failed_calls") + _number(stats, "rejected_calls"),
            )
        )
    by_calls = sorted(found, key=lambda s: (-s.calls, s.name))[:top]
    by_time = sorted(found, key=lambda s: (-s.microseconds, s.name))[:top]
    return TopCommands(by_calls=by_calls, by_time=by_time, total=len(found))


def latency_events(client: redis.Redis) -> list[LatencyEvent]:
    found = []
    # The raw reply, the same shape on every redis-py version.
    for raw in client.execute_command("LATENCY", "LATEST") or []:  # type: ignore[no-untyped-call]
        if isinstance(raw, (list, tuple)) and len(raw) >= 4:
            found.append(
                LatencyEvent(
                    event=text(raw[0], 60),
                    latest=datetime.fromtimestamp(int(raw[1]), tz=timezone.utc),
                    latest_ms=int(raw[2]),
                    max_ms=int(raw[3]),
                )
            )
    return sorted(found, key=lambda e: -e.max_ms)


def latency_threshold(client: redis.Redis) -> int | None:
    """``latency-monitor-threshold`` in ms (0: monitoring off); None when CONFIG is denied."""
    try:
        value = client.config_get("latency-monitor-threshold").get("latency-monitor-threshold")
    except RESPONSE_ERRORS:
        return None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
