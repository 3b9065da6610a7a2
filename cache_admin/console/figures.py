"""What the dashboard shows, gathered from the toolkit and shaped for the templates.

Toolkit results are read through :func:`pick`, so a field that a toolkit version does not
provide shows as "n/a" rather than breaking the page.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from cache_admin import policy
from cache_admin.console.toolkit import Unavailable, call

TARGET = 90.0
ACCEPTABLE = 70.0
NA = "n/a"


def pick(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        if not isinstance(obj, dict) and hasattr(obj, name):
            return getattr(obj, name)
    return default


def as_percent(rate: Any) -> float | None:
    """Rates may come as a fraction (0.93) or a percentage (93.0)."""
    if rate is None or isinstance(rate, bool):
        return None
    try:
        value = float(rate)
    except (TypeError, ValueError):
        return None
    return value * 100 if value <= 1.0 else value


def level(percent: float | None) -> str:
    """The spec's thresholds: above 90% target, above 70% acceptable, else poor."""
    if percent is None:
        return "none"
    try:
        found = call("stats", "hit_rate_level", percent / 100)
        if found in ("target", "acceptable", "poor"):
            return str(found)
    except Unavailable:
        pass
    if percent > TARGET:
        return "target"
    if percent > ACCEPTABLE:
        return "acceptable"
    return "poor"


def duration(seconds: Any) -> str:
    try:
        total = int(seconds)
    except (TypeError, ValueError):
        return NA
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def size(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return NA
    try:
        return str(filesizeformat(int(value)))
    except (TypeError, ValueError):
        return NA


def number(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return NA
    if isinstance(value, float):
        return f"{value:,.1f}"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def server_status() -> dict[str, Any]:
    try:
        status = call("stats", "server_status")
    except Unavailable as exc:
        return {"connected": False, "error": str(exc), "rows": [], "hit_rate": None}
    connected = bool(pick(status, "connected", "ok", default=False))
    used = pick(status, "used_memory", "memory_used")
    maximum = pick(status, "maxmemory", "memory_max")
    percent = pick(status, "memory_percent", "memory_used_percent")
    if percent is None and used and maximum:
        percent = 100.0 * float(used) / float(maximum)
    keys = pick(status, "keys_per_db", "keyspace", "db_keys", default={}) or {}
    if isinstance(keys, dict):
        keys_text = ", ".join(f"{db}: {number(pick(n, 'keys') or n)}" for db, n in keys.items())
    else:
        keys_text = number(keys)
    hit_rate = as_percent(pick(status, "hit_rate"))
    rows = [
        (_("Redis version"), pick(status, "version", "redis_version", default=NA)),
        (_("Uptime"), duration(pick(status, "uptime_seconds", "uptime", "uptime_in_seconds"))),
        (_("Memory used"), size(used)),
        (_("Max memory"), size(maximum) if maximum else _("no limit")),
        (_("Memory used %"), f"{float(percent):.1f}%" if percent else NA),
        (
            _("Fragmentation ratio"),
            number(pick(status, "fragmentation", "mem_fragmentation_ratio")),
        ),
        (_("Eviction policy"), pick(status, "eviction_policy", "maxmemory_policy", default=NA)),
        (_("Keys per database"), keys_text or "0"),
        (
            _("Operations per second"),
            number(pick(status, "ops_per_sec", "instantaneous_ops_per_sec")),
        ),
        (_("Evicted keys"), number(pick(status, "evicted_keys"))),
        (_("Expired keys"), number(pick(status, "expired_keys"))),
        (_("Connected clients"), number(pick(status, "connected_clients", "clients"))),
    ]
    return {
        "connected": connected,
        "error": pick(status, "error", "message", default="") or "",
        "rows": rows,
        "hit_rate": hit_rate,
        "hit_level": level(hit_rate),
    }


def _window(counts: Any) -> dict[str, Any]:
    if counts is None:
        return {"hits": NA, "misses": NA, "rate": None, "level": "none"}
    rate = as_percent(pick(counts, "hit_rate", "rate"))
    return {
        "hits": number(pick(counts, "hits", default=0)),
        "misses": number(pick(counts, "misses", default=0)),
        "rate": rate,
        "level": level(rate),
    }


def type_rows() -> tuple[list[dict[str, Any]], str]:
    """One row per cache type; the error says what could not be read."""
    error = ""
    by_name: dict[str, Any] = {}
    try:
        for row in call("stats", "type_rows") or []:
            name = pick(row, "name", "type_name", "cache_type")
            name = pick(name, "name", default=name)
            by_name[str(name)] = row
    except Unavailable as exc:
        error = str(exc)
    rows = []
    for ttl in policy.effective_ttls():
        found = by_name.get(ttl.cache_type.name)
        w5 = _window(pick(found, "window_5m", "last_5m", "minutes_5", "w5")) if found else None
        w60 = _window(pick(found, "window_1h", "last_1h", "hour", "w60")) if found else None
        rows.append(
            {
                "name": ttl.cache_type.name,
                "label": ttl.cache_type.label,
                "prefix": ttl.cache_type.prefix,
                "default": ttl.default,
                "override": ttl.override,
                "effective": ttl.effective,
                "w5": w5 or _window(None),
                "w60": w60 or _window(None),
                "keys": number(pick(found, "key_count", "keys", "approx_keys")) if found else NA,
                "poor": bool(w60 and w60["level"] == "poor"),
            }
        )
    return rows, error


def history() -> tuple[list[dict[str, Any]], str]:
    # Each dashboard refresh records a point (the toolkit rate-limits it); a missing
    # sampler shows up below as missing history.
    with contextlib.suppress(Unavailable):
        call("stats", "sample")
    try:
        points = call("stats", "history") or []
    except Unavailable as exc:
        return [], str(exc)
    out = []
    for point in points:
        if dataclasses.is_dataclass(point) and not isinstance(point, type):
            point = dataclasses.asdict(point)
        stamp = pick(point, "t", "ts", "timestamp", "time", "at")
        out.append(
            {
                "t": stamp.isoformat() if hasattr(stamp, "isoformat") else stamp,
                "hit_rate": as_percent(pick(point, "hit_rate")),
                "ops": pick(point, "ops_per_sec", "ops", "instantaneous_ops_per_sec"),
            }
        )
    return out, ""


def dashboard_context() -> dict[str, Any]:
    rows, rows_error = type_rows()
    points, history_error = history()
    return {
        "status": server_status(),
        "type_rows": rows,
        "type_rows_error": rows_error,
        "history": points,
        "history_error": history_error,
    }
