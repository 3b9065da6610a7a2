"""What the dashboard shows, read from ``cache_admin.stats`` and shaped for the templates."""

from __future__ import annotations

import contextlib
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from cache_admin import policy, stats
from cache_admin.console.render import flavour_templates
from cache_admin.console.toolkit import Unavailable, as_unavailable
from cache_admin.counter_totals import Counts
from cache_admin.invalidation import CacheInvalidator
from cache_admin.stats import hints

NA = "n/a"


def level(counts: Counts | None) -> str:
    """The spec's level (target, acceptable, poor), "few" below CONSOLE_MIN_SAMPLE lookups,
    "none" without traffic."""
    return hints.level(counts) or "none"


def duration(seconds: object) -> str:
    if not isinstance(seconds, int):
        return NA
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def size(value: object) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return NA
    return str(filesizeformat(value))


def number(value: object) -> str:
    if value is None or isinstance(value, bool):
        return NA
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def server_status(
    site_lookups: int = 0, status: stats.ServerStatus | None = None
) -> dict[str, Any]:
    """``site_lookups``: the site's own lookups counted in the last hour (INFO's rate is
    judged only with enough of them). ``status``: figures already read (a cluster's)."""
    if status is None:
        try:
            with as_unavailable():
                status = stats.server_status()
        except Unavailable as exc:
            return {"connected": False, "error": str(exc), "rows": [], "hit_rate": None}
    if not status.connected:
        return {"connected": False, "error": status.error or "", "rows": [], "hit_rate": None}
    keys = ", ".join(f"{db}: {number(n)}" for db, n in sorted(status.keys_per_db.items()))
    memory = status.memory_percent
    rows = [
        (_("Redis version"), status.version or NA),
        (_("Uptime"), duration(status.uptime_seconds)),
        (_("Memory used"), size(status.used_memory)),
        (_("Max memory"), size(status.maxmemory) if status.maxmemory else _("no limit")),
        (_("Memory used of max"), f"{memory:.1f}%" if memory is not None else NA),
        (_("Fragmentation ratio"), number(status.fragmentation)),
        (_("Eviction policy"), status.eviction_policy or NA),
        (_("Keys per database"), keys or "0"),
        (_("Operations per second"), number(status.ops_per_sec)),
        (_("Evicted keys"), number(status.evicted_keys)),
        (_("Expired keys"), number(status.expired_keys)),
        (_("Connected clients"), number(status.connected_clients)),
    ]
    return {
        "connected": True,
        "error": "",
        "rows": rows,
        "nodes": status.nodes,
        "hit_rate": percent(status.hit_rate),
        "hit_level": hints.server_level(status, site_lookups) or "none",
        "site_lookups": site_lookups,
        "min_sample": hints.min_sample(),
    }


def cluster() -> tuple[stats.ClusterFigures | None, str]:
    """The cluster's nodes and summed figures (None for one server); the error says why
    they could not be read."""
    try:
        with as_unavailable():
            return stats.cluster_figures(), ""
    except Unavailable as exc:
        return None, str(exc)


def node_rows(found: stats.ClusterFigures) -> list[dict[str, Any]]:
    links = {
        "connected": _("connected"),
        "disconnected": _("disconnected"),
        "suspected": _("not answering (fail?)"),
        "failed": _("failed"),
    }
    rows = []
    for row in found.rows:
        lag = NA
        if row.lag_seconds is not None:
            lag = _("%(seconds)s s, %(bytes)s behind") % {
                "seconds": number(row.lag_seconds),
                "bytes": size(row.lag_bytes),
            }
        rows.append(
            {
                "name": row.name,
                "role": _("primary") if row.is_primary else _("replica"),
                "primary": row.primary or "",
                "slots": number(row.slots),
                "slot_count": row.slots,
                "memory": size(row.used_memory),
                "ops": number(row.ops_per_sec),
                "clients": number(row.connected_clients),
                "lag": lag,
                "replication": row.replication_link or "",
                "link": links[row.link],
                "down": row.down,
                "error": row.error or "",
            }
        )
    return rows


def _window(counts: Counts | None) -> dict[str, Any]:
    if counts is None:
        return {
            "hits": NA,
            "misses": NA,
            "rate": None,
            "level": "none",
            "lookups": 0,
            "reasons": [],
        }
    return {
        "hits": number(counts.hits),
        "misses": number(counts.misses),
        "rate": percent(counts.hit_rate),
        "level": level(counts),
        "lookups": counts.lookups,
        # Why it missed, the most frequent reason first: ReasonShare(reason, label, ...).
        "reasons": hints.miss_reasons(counts),
    }


def _fallback_rows() -> list[dict[str, Any]]:
    return [
        {
            "name": t.cache_type.name,
            "label": t.cache_type.label,
            "prefix": t.cache_type.prefix,
            "default": t.default,
            "override": t.override,
            "ignored": t.ignored,
            "effective": t.effective,
            "windows": [_window(None), _window(None)],
            "keys": NA,
            "hints": (),
        }
        for t in policy.effective_ttls()
    ]


def type_rows() -> tuple[list[dict[str, Any]], str]:
    """One row per cache type; the error says what could not be read."""
    try:
        with as_unavailable():
            found = stats.type_rows()
    except Unavailable as exc:
        return _fallback_rows(), str(exc)
    rows = []
    for row in found:
        keys = NA if row.key_count is None else number(row.key_count)
        rows.append(
            {
                "name": row.name,
                "label": row.label,
                "prefix": row.prefix,
                "default": row.default_ttl,
                "override": row.override,
                "ignored": row.ignored_override,
                "effective": row.effective_ttl,
                "windows": [_window(row.recent), _window(row.hour)],
                "keys": keys if row.key_count_exact or keys == NA else f"~{keys}",
                "hints": row.hints,
            }
        )
    return rows, ""


def history() -> tuple[list[dict[str, Any]], str]:
    # Each dashboard refresh offers a point; the toolkit keeps one per interval for all
    # processes, so several open dashboards do not multiply the sampling.
    with contextlib.suppress(Unavailable), as_unavailable():
        stats.sample()
    try:
        with as_unavailable():
            points = stats.history()
    except Unavailable as exc:
        return [], str(exc)
    return [
        {"t": p.time, "hit_rate": percent(p.hit_rate), "ops": p.ops_per_sec} for p in points
    ], ""


def queued_invalidations() -> int:
    """Invalidations waiting for Redis since an outage (0 when that cannot be told)."""
    try:
        with as_unavailable():
            return CacheInvalidator.queued_count()
    except Unavailable:
        return 0


def dashboard_context() -> dict[str, Any]:
    rows, rows_error = type_rows()
    points, history_error = history()
    drawn = [p for p in points if p["hit_rate"] is not None or p["ops"] is not None]
    site_lookups = sum(row["windows"][1]["lookups"] for row in rows)
    nodes, nodes_error = cluster()
    if nodes_error:
        status = {"connected": False, "error": nodes_error, "rows": [], "hit_rate": None}
    else:
        status = server_status(site_lookups, nodes.status if nodes else None)
    return {
        "cluster": nodes is not None,
        "node_rows": node_rows(nodes) if nodes else [],
        "nodes_down": [row.name for row in nodes.down] if nodes else [],
        "queued_invalidations": queued_invalidations(),
        "figures_template": flavour_templates("server_figures.html"),
        "history_sparse": len(drawn) < 2,
        "min_sample": hints.min_sample(),
        "status": status,
        "type_rows": rows,
        "type_rows_error": rows_error,
        "history": points,
        "history_error": history_error,
    }
