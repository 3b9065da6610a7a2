"""What ``cache_stats`` prints: server figures and per-type hit rates, as lines or as JSON.

Figures come from the toolkit (``stats.server_status()``, ``stats.type_rows()``); the
colour of a hit rate follows the spec's thresholds (above 90% target, above 70%
acceptable, else poor) from CONSOLE_MIN_SAMPLE lookups on (``stats.hints``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cache_admin.counter_totals import Counts
from cache_admin.stats import ServerStatus, TypeRow, hints

Paint = Callable[[str, str | None], str]


@dataclass(frozen=True)
class Snapshot:
    taken: datetime
    server: ServerStatus
    rows: list[TypeRow]


def take() -> Snapshot:
    from cache_admin.stats import server_status, type_rows

    server = server_status()
    rows = type_rows() if server.connected else []
    return Snapshot(datetime.now(timezone.utc), server, rows)


def size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours}h {rest // 60}m" if days else f"{hours}h {rest // 60}m"


def total(counts: list[Any]) -> Counts:
    summed = Counts()
    for found in counts:
        if found is not None:
            summed = summed + found
    return summed


def rate_of(counts: Any) -> float | None:
    return None if counts is None else counts.hit_rate


def server_level(snap: Snapshot) -> str | None:
    return hints.server_level(snap.server, total([r.hour for r in snap.rows]).lookups)


def level_text(level: str | None) -> str:
    if level == hints.FEW:
        return " (too few lookups to judge)"
    return f" ({level})" if level else " (no lookups yet)"


def lines(snap: Snapshot, paint: Paint) -> list[str]:
    server = snap.server
    when = snap.taken.strftime("%Y-%m-%d %H:%M:%S UTC")
    if not server.connected:
        return [f"{when}  Redis is unreachable: {server.error}"]
    memory = f"Memory: {size(server.used_memory)} used"
    if server.maxmemory:
        memory += f" of {size(server.maxmemory)} ({server.memory_percent}%)"
    else:
        memory += " (no maxmemory limit)"
    if server.fragmentation is not None:
        memory += f", fragmentation {server.fragmentation:.2f}"
    if server.eviction_policy:
        memory += f", policy {server.eviction_policy}"
    dbs = ", ".join(f"{db}: {n}" for db, n in server.keys_per_db.items()) or "empty"
    level = server_level(snap)
    out = [
        f"{when}  Redis {server.version} ({server.nodes} node{'s' if server.nodes != 1 else ''}),"
        f" up {duration(server.uptime_seconds)}",
        memory,
        f"Keys: {server.total_keys} ({dbs}); clients {server.connected_clients}; "
        f"{server.ops_per_sec} ops/s; evicted {server.evicted_keys}; "
        f"expired {server.expired_keys}; commands {server.total_commands}",
        "Hit rate (server keyspace): " + paint(percent(server.hit_rate), level) + level_text(level),
        "",
    ]
    header = (
        f"{'Type':<22} {'Prefix':<16} {'TTL':>7} {'Keys':>8} {'Hits 5m':>8} {'Miss 5m':>8}"
        f" {'Rate 5m':>8} {'Hits 1h':>8} {'Miss 1h':>8} {'Rate 1h':>8}  Why missed (1h)"
    )
    out.append(header)
    for row in snap.rows:
        out.append(
            _row(
                row.label,
                row.prefix,
                str(row.effective_ttl),
                row.key_count,
                row.recent,
                row.hour,
                paint,
            )
        )
    recent = total([r.recent for r in snap.rows])
    hour = total([r.hour for r in snap.rows])
    out.append(_row("All types", "", "", None, recent, hour, paint))
    return out


def _row(
    label: str, prefix: str, ttl: str, keys: int | None, recent: Any, hour: Any, paint: Paint
) -> str:
    def cells(counts: Any) -> str:
        if counts is None:
            return f"{'-':>8} {'-':>8} {'-':>8}"
        shown = paint(f"{percent(rate_of(counts)):>8}", hints.level(counts))
        return f"{counts.hits:>8} {counts.misses:>8} {shown}"

    keys_text = "-" if keys is None else str(keys)
    row = (
        f"{label[:22]:<22} {prefix[:16]:<16} {ttl:>7} {keys_text:>8} {cells(recent)} {cells(hour)}"
    )
    why = reasons_text(hour)
    return f"{row}  {why}" if why else row


def reasons_text(counts: Any) -> str:
    """``absent 62%, invalidated 30%, lease wait 8%``: the misses by reason."""
    return ", ".join(f"{r.label} {r.percent:.0f}%" for r in hints.miss_reasons(counts))


def as_json(snap: Snapshot) -> dict[str, Any]:
    server = snap.server

    def counts(found: Any) -> dict[str, Any] | None:
        if found is None:
            return None
        rate = rate_of(found)
        return {
            "hits": found.hits,
            "misses": found.misses,
            "fills": found.fills,
            "errors": found.errors,
            "invalidations": found.invalidations,
            # Misses by reason; "unexplained": counted without one.
            "miss_reasons": {**found.reasons, hints.UNEXPLAINED: found.unexplained},
            "hit_rate": rate,
            "level": hints.level(found),
        }

    return {
        "time": snap.taken.isoformat(),
        "server": {
            "connected": server.connected,
            "error": server.error,
            "version": server.version,
            "nodes": server.nodes,
            "uptime_seconds": server.uptime_seconds,
            "used_memory": server.used_memory,
            "maxmemory": server.maxmemory,
            "memory_percent": server.memory_percent,
            "fragmentation": server.fragmentation,
            "eviction_policy": server.eviction_policy,
            "keys_per_db": server.keys_per_db,
            "total_keys": server.total_keys,
            "ops_per_sec": server.ops_per_sec,
            "evicted_keys": server.evicted_keys,
            "expired_keys": server.expired_keys,
            "connected_clients": server.connected_clients,
            "keyspace_hits": server.keyspace_hits,
            "keyspace_misses": server.keyspace_misses,
            "total_commands": server.total_commands,
            "hit_rate": server.hit_rate,
            "level": server_level(snap),
        },
        "types": [
            {
                "name": row.name,
                "label": row.label,
                "prefix": row.prefix,
                "default_ttl": row.default_ttl,
                "override": row.override,
                "ignored_override": row.ignored_override,
                "effective_ttl": row.effective_ttl,
                "keys": row.key_count,
                "keys_exact": row.key_count_exact,
                "last_5m": counts(row.recent),
                "last_1h": counts(row.hour),
                "level": row.level,
            }
            for row in snap.rows
        ],
    }
