"""Recommendations drawn from a report's figures: keys without TTL, memory spent on a type
that is rarely hit, TTLs that let entries outlive their data.

A hit rate is judged only from ``CONSOLE_MIN_SAMPLE`` lookups (``stats.hints.level``), as
everywhere else in the package.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from cache_admin.analysis.sampling import OUTSIDE, PACKAGE, UNTYPED
from cache_admin.counter_totals import Counts
from cache_admin.stats.hints import level

# A type (or the keys of no type) holding this share of the memory sampled is "much".
MEMORY_SHARE = 0.2
# An override this many times the type's default lets entries outlive their data.
OVERRIDE_FACTOR = 4
WARNING = "warning"
INFO = "info"

UNTYPED_NO_TTL = ngettext_lazy(
    "%(n)s key of no cache type has no expiry: it stays until deleted or evicted. "
    "Declare a cache type for its prefix (the namespaces show it) or give it a timeout.",
    "%(n)s keys of no cache type have no expiry: they stay until deleted or evicted. "
    "Declare a cache type for their prefix (the namespaces show them) or give them a timeout.",
    "count",
)
UNTYPED_MEMORY = _(
    "Keys of no cache type hold %(share).0f %% of the memory: declare cache types for "
    "their prefixes to see their hit rates and manage their TTLs."
)
NO_TTL = ngettext_lazy(
    "%(label)s: %(n)s key has no expiry and stays until deleted or evicted (the type's "
    "TTL is %(ttl)s s). Look for writes with timeout=None.",
    "%(label)s: %(n)s keys have no expiry and stay until deleted or evicted (the type's "
    "TTL is %(ttl)s s). Look for writes with timeout=None.",
    "count",
)
MEMORY_LOW_HITS = _(
    "%(label)s holds %(share).0f %% of the memory for a %(rate).0f %% hit rate over the "
    "last hour (%(lookups)s lookups): shorten its TTL, cache less of it, or check that its "
    "keys are reused."
)
LONG_OVERRIDE = _(
    "%(label)s: the TTL override (%(override)s s) is %(factor).0f times the type's default "
    "(%(default)s s). Entries live that long after the data they copy changed, unless "
    "every change invalidates them."
)
OUTLIVING = ngettext_lazy(
    "%(label)s: %(n)s key has more time left (up to %(longest)s s) than the type's "
    "effective TTL allows (%(ttl)s s plus jitter). It was written under a longer TTL "
    "(an override since lowered, or a timeout given in code) and can serve stale data until "
    "then: shorten it from the TTL override form.",
    "%(label)s: %(n)s keys have more time left (up to %(longest)s s) than the type's "
    "effective TTL allows (%(ttl)s s plus jitter). They were written under a longer TTL "
    "(an override since lowered, or a timeout given in code) and can serve stale data until "
    "then: shorten them from the TTL override form.",
    "count",
)


def _number(n: int) -> str:
    return f"{n:,}"


def _advice(
    kind: str, severity: str, row: dict[str, Any], text: Any, **values: Any
) -> dict[str, str]:
    # ``text % values``, not ``str(text)``: a plural message picks its form from ``count``.
    return {"kind": kind, "severity": severity, "type": row["name"], "text": str(text % values)}


def _counts(row: dict[str, Any]) -> Counts | None:
    if row.get("hits") is None:
        return None
    return Counts(hits=int(row["hits"]), misses=int(row["misses"] or 0))


def recommend(report: dict[str, Any]) -> list[dict[str, str]]:
    about = "" if report["exact"] else "~"
    found = []
    for row in report["types"]:
        share = row["memory_share"] or 0.0
        if row["name"] in (PACKAGE, OUTSIDE):
            continue
        if row["name"] == UNTYPED:
            if row["no_ttl"]:
                n = about + _number(row["no_ttl"])
                found.append(
                    _advice("no_ttl", WARNING, row, UNTYPED_NO_TTL, n=n, count=row["no_ttl"])
                )
            if share >= MEMORY_SHARE:
                found.append(
                    _advice("untyped_memory", INFO, row, UNTYPED_MEMORY, share=share * 100)
                )
            continue
        label = row["label"]
        if row["no_ttl"]:
            n = about + _number(row["no_ttl"])
            ttl = _number(row["effective_ttl"])
            found.append(
                _advice(
                    "no_ttl", WARNING, row, NO_TTL, label=label, n=n, ttl=ttl, count=row["no_ttl"]
                )
            )
        counts = _counts(row)
        if counts is not None and share >= MEMORY_SHARE and level(counts) == "poor":
            found.append(
                _advice(
                    "memory_low_hits",
                    WARNING,
                    row,
                    MEMORY_LOW_HITS,
                    label=label,
                    share=share * 100,
                    rate=(counts.hit_rate or 0.0) * 100,
                    lookups=_number(counts.lookups),
                )
            )
        override, default = row["override"], row["default_ttl"]
        if override is not None and override >= OVERRIDE_FACTOR * default:
            found.append(
                _advice(
                    "long_override",
                    INFO,
                    row,
                    LONG_OVERRIDE,
                    label=label,
                    override=_number(override),
                    factor=override / default,
                    default=_number(default),
                )
            )
        if row["over_ttl"]:
            found.append(
                _advice(
                    "outliving",
                    WARNING,
                    row,
                    OUTLIVING,
                    label=label,
                    n=about + _number(row["over_ttl"]),
                    count=row["over_ttl"],
                    longest=_number(row["max_ttl"]),
                    ttl=_number(row["effective_ttl"]),
                )
            )
    return found
