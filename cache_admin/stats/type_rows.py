"""One row per cache type for the dashboard and ``cache_stats``: TTLs, hit rates, key counts."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from cache_admin import backend, stored_keys
from cache_admin.conf import conf
from cache_admin.counter_totals import Counts
from cache_admin.guard import guarded
from cache_admin.stats.hints import TypeFigures, level, type_hints
from cache_admin.types import CacheType, type_for_key

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
    # An override row outside 1 s - 30 days, ignored (the default applies).
    ignored_override: int | None = None

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
        """The spec's level over the last hour; ``hints.FEW`` below the minimum sample."""
        return level(self.hour)


def _rate(counts: Counts | None) -> float | None:
    return None if counts is None else counts.hit_rate


def _count_keys() -> KeyCounts:
    """Count the site's keys per type from a bounded scan of the whole database.

    SCAN without MATCH returns every key it examines, so the share of the keyspace seen is
    known exactly and a partial scan can be scaled up to an estimate.
    """
    budget = conf.CONSOLE_SCAN_BUDGET
    step = min(conf.SCAN_COUNT, budget)
    site = stored_keys.site_prefix().encode()
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
        key = stored_keys.stored_key(f"{conf.NAMESPACE}typecounts")
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


def last_warm() -> datetime | None:
    """When a warm run last succeeded (any warmer), None when unknown."""
    from cache_admin.models import WarmRun

    try:
        found = (
            WarmRun.objects.filter(status=WarmRun.SUCCEEDED, finished_at__isnull=False)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
    except Exception as exc:  # no table yet, a database that is down: no hint depends on it
        logger.warning("warm runs could not be read: %r", exc)
        return None
    return found


def type_rows() -> list[TypeRow]:
    """A row per registered type; never raises (figures that could not be read are None)."""
    from cache_admin import counter_totals
    from cache_admin.policy import effective_ttls

    minutes: dict[str, list[Counts]] | None = None
    try:
        minutes = counter_totals.type_minutes(3600)
    except Exception as exc:
        logger.warning("hit/miss counters could not be read: %r", exc)
    try:
        found = key_counts()
    except Exception as exc:
        logger.warning("key counts could not be read: %r", exc)
        found = None
    warmed = last_warm()
    now = timezone.now()
    rows = []
    for ttl in effective_ttls():
        name = ttl.cache_type.name
        figures = None
        if minutes is not None:
            figures = TypeFigures(ttl.effective, tuple(minutes.get(name, ())), warmed)
        rows.append(
            TypeRow(
                cache_type=ttl.cache_type,
                default_ttl=ttl.default,
                override=ttl.override,
                effective_ttl=ttl.effective,
                recent=None if figures is None else figures.recent,
                hour=None if figures is None else figures.hour,
                key_count=None if found is None else found.counts.get(name, 0),
                key_count_exact=bool(found and found.exact),
                hints=() if figures is None else type_hints(figures, now),
                ignored_override=ttl.ignored,
            )
        )
    return rows
