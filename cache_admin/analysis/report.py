"""The report of an analysis: node tallies scaled and merged into JSON-ready figures.

A node walked whole counts as it is; a sampled node's figures are multiplied by its scale
(its DBSIZE over the keys sampled), per node, so a cluster whose nodes were sampled to
different depths adds up right. The sample sizes stay beside the estimates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cache_admin.analysis.advice import recommend
from cache_admin.analysis.sampling import PSEUDO_TYPES, Options
from cache_admin.analysis.tally import OTHER, TOP_KEYS, Group, KeyFact, NodeTally
from cache_admin.counter_totals import Counts
from cache_admin.policy import EffectiveTTL

VERSION = 1
# Namespaces listed, the largest by memory first; the rest are added up in one row.
NAMESPACES_SHOWN = 50


def _merged(tallies: Iterable[NodeTally], part: str) -> dict[str, Group]:
    merged: dict[str, Group] = {}
    for tally in tallies:
        groups: dict[str, Group] = getattr(tally, part)
        for name, group in groups.items():
            merged.setdefault(name, Group()).add_scaled(group, tally.scale)
    return merged


def _largest(lists: Iterable[list[KeyFact]]) -> list[dict[str, Any]]:
    facts = [fact for found in lists for fact in found]
    facts.sort(key=lambda fact: fact.size, reverse=True)
    return [fact.as_dict() for fact in facts[:TOP_KEYS]]


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def build(
    tallies: list[NodeTally],
    *,
    options: Options,
    ttls: list[EffectiveTTL],
    counts: Mapping[str, Counts] | None,
    nodes_total: int,
) -> dict[str, Any]:
    """``counts``: hits and misses per type over the last hour, None when unreadable."""
    types = _merged(tallies, "types")
    memory = sum(group.memory for group in types.values())
    keys = sum(group.keys for group in types.values())
    rows = []
    for ttl in ttls:
        group = types.get(ttl.cache_type.name, Group())
        counted = counts.get(ttl.cache_type.name) if counts is not None else None
        rows.append(
            {
                "name": ttl.cache_type.name,
                "label": ttl.cache_type.label,
                "prefix": ttl.cache_type.prefix,
                "default_ttl": ttl.default,
                "override": ttl.override,
                "effective_ttl": ttl.effective,
                **group.as_dict(),
                "memory_share": _share(group.memory, memory),
                "hits": None if counts is None else (counted or Counts()).hits,
                "misses": None if counts is None else (counted or Counts()).misses,
            }
        )
    for name in PSEUDO_TYPES:
        if name in types:
            group = types[name]
            rows.append(
                {"name": name, **group.as_dict(), "memory_share": _share(group.memory, memory)}
            )
    spaces = sorted(_merged(tallies, "namespaces").items(), key=lambda i: (-i[1].memory, i[0]))
    shown = [{"name": name, **group.as_dict()} for name, group in spaces[:NAMESPACES_SHOWN]]
    rest = Group()
    for _name, group in spaces[NAMESPACES_SHOWN:]:
        rest.add_scaled(group, 1.0)
    redis_types = sorted(_merged(tallies, "redis_types").items(), key=lambda i: -i[1].memory)
    exact = len(tallies) == nodes_total and all(tally.complete for tally in tallies)
    report: dict[str, Any] = {
        "version": VERSION,
        "options": {
            "budget": options.budget,
            "delimiter": options.delimiter,
            "depth": options.depth,
        },
        "exact": exact,
        "keys": round(keys),
        "sampled": sum(tally.sampled for tally in tallies),
        "memory": round(memory),
        "nodes_total": nodes_total,
        "nodes": [
            {
                "node": tally.node,
                "keys": tally.keys,
                "used_memory": tally.used_memory,
                "examined": tally.examined,
                "sampled": tally.sampled,
                "complete": tally.complete,
                "memory_sampled": round(sum(g.memory for g in tally.types.values())),
            }
            for tally in tallies
        ],
        "types": rows,
        "namespaces": shown,
        "namespaces_more": len(spaces[NAMESPACES_SHOWN:]),
        "namespaces_rest": rest.as_dict() if rest.sampled else None,
        "namespaces_capped": any(OTHER in tally.namespaces for tally in tallies),
        "redis_types": [{"name": name, **group.as_dict()} for name, group in redis_types],
        "biggest": _largest(tally.biggest.largest() for tally in tallies),
        "leaks": _largest(tally.leaks.largest() for tally in tallies),
    }
    report["recommendations"] = recommend(report)
    return report
