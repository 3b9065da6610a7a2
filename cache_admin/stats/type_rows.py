"""One row per cache type for the dashboard and ``cache_stats``: TTLs, hit rates, key counts."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cache_admin import backend
from cache_admin.conf import conf
from cache_admin.guard import guarded
from cache_admin.stats.server import hit_rate_level
from cache_admin.types import CacheType, type_for_key

if TYPE_CHECKING:
    from cache_admin.counters import Counts

logger = logging.getLogger("cache_admin")

KEY_COUNT_CACHE_MS = 30_000
UNTYPED = "_untyped"


@dataclass(frozen=True)
class KeyCounts:
    counts: dict[str, int]  # type name (or "_untyped") -> keys
    exact: bool  # the scan covered the whole keyspace; else extrapolated from a sample
    scanned: int


@dataclass(frozen=True)
class TypeRow:
    cache_type: CacheType
    default_ttl: int
    override: int | None
    effective_ttl: int
    recent: Counts | None  # the last 5 minutes, None when unknown
    hour: Counts | None  # the last hour, None when unknown
    key_count: int | None
    key_count_exact: bool
    hints: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.cache_type.name

    @property
    def label(self) -> str:
        return self.cache_type.label

    @property
    def prefix(self) -> str:
        return self.cache_type.prefix

    @property
    def hit_rate_5m(self) -> float | None:
        return _rate(self.recent)

    @property
    def hit_rate_1h(self) -> float | None:
        return _rate(self.hour)

    @property
    def level(self) -> str | None:
        """The spec's level over the last hour (the last 5 minutes when the hour is empty)."""
        rate = self.hit_rate_1h
        return hit_rate_level(rate if rate is not None else self.hit_rate_5m)


def _rate(counts: Counts | None) -> float | None:
    return None if counts is None else counts.hit_rate


def _count_keys() -> KeyCounts:
    """Count the site's keys per type from a bounded scan of the whole database.

    SCAN without MATCH returns every key it examines, so the share of the keyspace seen is
    known exactly and a partial scan can be scaled up to an estimate.
    """
    budget = conf.CONSOLE_SCAN_BUDGET
    step = min(conf.SCAN_COUNT, budget)
    site = backend.site_prefix().encode()
    hidden = site + conf.NAMESPACE.encode()
    counts: dict[str, int] = {}
    seen = total = 0
    done = True
    for client in backend.primary_clients():
        total += int(client.dbsize())
        cursor = None
        while cursor != 0 and seen < budget:
            cursor, batch = client.scan(cursor or 0, count=min(step, budget - seen))
            cursor = int(cursor)
            seen += len(batch)
            for raw in batch:
                key = raw if isinstance(raw, bytes) else str(raw).encode()
                if not key.startswith(site) or key.startswith(hidden):
                    continue
                found = type_for_key(key[len(site) :].decode("utf-8", "replace"))
                name = found.name if found else UNTYPED
                counts[name] = counts.get(name, 0) + 1
        done = done and cursor == 0
    if not done and seen:
        scale = total / seen
        counts = {name: round(n * scale) for name, n in counts.items()}
    return KeyCounts(counts, done, seen)


def key_counts() -> KeyCounts:
    """Approximate keys per type, cached for a short while in the package namespace."""

    def run() -> KeyCounts:
        client = backend.client()
        key = backend.stored_key(f"{conf.NAMESPACE}typecounts")
        cached = client.get(key)
        if cached:
            try:
                data = json.loads(cached)
                return KeyCounts(dict(data["counts"]), bool(data["exact"]), int(data["scanned"]))
            except (ValueError, KeyError, TypeError):
                pass
        found = _count_keys()
        payload = {"counts": found.counts, "exact": found.exact, "scanned": found.scanned}
        client.set(key, json.dumps(payload), px=KEY_COUNT_CACHE_MS)
        return found

    return guarded(run)


def hints(row: TypeRow) -> tuple[str, ...]:
    """The spec's "Low Hit Rate" troubleshooting, with this type's figures."""
    hour = row.hour
    fills = int(getattr(hour, "fills", 0) or 0)
    invalidations = int(getattr(hour, "invalidations", 0) or 0)
    churn = (
        f"{invalidations} invalidations against {fills} fills in the last hour: "
        "review the invalidation logic."
        if invalidations
        else "Review the invalidation logic (nothing invalidated this type in the last hour)."
    )
    return (
        f"TTL too short? The effective TTL is {row.effective_ttl} s; increase it for stable "
        "data with a TTL override.",
        "Cache not warmed? Run `python manage.py warm_cache --all`.",
        churn,
        "Keys not reused? Check cache key consistency: the same call must build the same key.",
    )


def type_rows() -> list[TypeRow]:
    """A row per registered type; never raises (figures that could not be read are None)."""
    from cache_admin import counters
    from cache_admin.policy import effective_ttls

    recent: dict[str, Counts] | None = None
    hour: dict[str, Counts] | None = None
    try:
        recent = counters.type_stats(300)
        hour = counters.type_stats(3600)
    except Exception as exc:
        logger.warning("hit/miss counters could not be read: %r", exc)
    try:
        found = key_counts()
    except Exception as exc:
        logger.warning("key counts could not be read: %r", exc)
        found = None
    rows = []
    for ttl in effective_ttls():
        name = ttl.cache_type.name
        row = TypeRow(
            cache_type=ttl.cache_type,
            default_ttl=ttl.default,
            override=ttl.override,
            effective_ttl=ttl.effective,
            recent=None if recent is None else recent.get(name, counters.Counts()),
            hour=None if hour is None else hour.get(name, counters.Counts()),
            key_count=None if found is None else found.counts.get(name, 0),
            key_count_exact=bool(found and found.exact),
            hints=(),
        )
        if row.level == "poor":
            row = TypeRow(**{**row.__dict__, "hints": hints(row)})
        rows.append(row)
    return rows
