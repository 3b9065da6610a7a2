"""A keyspace analysis report (``KeyspaceReport.data``) shaped for the templates: numbers
in words, estimates marked "~", levels judged as on the dashboard, the charts' data.

Key names (the largest keys, keys without TTL) are shown only to staff who may browse
keys; others see their type, size and TTL.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from cache_admin.analysis.sampling import OUTSIDE, PACKAGE, UNTYPED
from cache_admin.analysis.tally import OTHER
from cache_admin.console.figures import duration, level, number, percent, size
from cache_admin.counter_totals import Counts
from cache_admin.models import KeyspaceReport

PSEUDO_LABELS = {
    UNTYPED: _("No cache type"),
    PACKAGE: _("cache_admin's own keys"),
    OUTSIDE: _("Outside this site (another KEY_PREFIX or VERSION)"),
}
TTL_LABELS = [_("no expiry"), _("< 1 min"), _("< 10 min"), _("< 1 h"), _("< 1 day"), _("longer")]


class Shaper:
    def __init__(self, data: dict[str, Any], may_see_keys: bool) -> None:
        self.data = data
        self.exact = bool(data.get("exact"))
        self.may_see_keys = may_see_keys
        self.labels = {
            row["name"]: row.get("label") or PSEUDO_LABELS.get(row["name"], row["name"])
            for row in data.get("types", [])
        }

    def count(self, n: int) -> str:
        return number(n) if self.exact else f"~{number(n)}"

    def memory(self, n: int) -> str:
        return size(n) if self.exact else f"~{size(n)}"

    def ttl_shares(self, row: dict[str, Any]) -> list[float]:
        keys = row["keys"] or 0
        return [round(n / keys * 100, 1) if keys else 0.0 for n in row["ttl"]]

    def group(self, row: dict[str, Any]) -> dict[str, Any]:
        """What every row (type, namespace, Redis type) shows."""
        return {
            "keys": self.count(row["keys"]),
            "keys_n": row["keys"],
            "sampled": number(row["sampled"]),
            "memory": self.memory(row["memory"]),
            "no_ttl": self.count(row["no_ttl"]) if row["no_ttl"] else "",
            "no_ttl_memory": self.memory(row["no_ttl_memory"]),
            # Keys that expire, by remaining TTL (those without expiry have a column).
            "expiring": [self.count(n) for n in row["ttl"][1:]],
            "ttl_shares": self.ttl_shares(row),
        }

    def type_row(self, row: dict[str, Any]) -> dict[str, Any]:
        name = row["name"]
        counts = None
        if row.get("hits") is not None:
            counts = Counts(hits=row["hits"], misses=row.get("misses") or 0)
        return {
            **self.group(row),
            "name": name,
            "label": self.labels[name],
            "prefix": row.get("prefix", ""),
            "pseudo": name in PSEUDO_LABELS,
            "share": percent(row["memory_share"]),
            "rate": percent(counts.hit_rate) if counts else None,
            "level": level(counts),
            "lookups": counts.lookups if counts else 0,
            "counted": counts is not None,
            "effective": row.get("effective_ttl"),
            "override": row.get("override"),
            "over_ttl": self.count(row["over_ttl"]) if row["over_ttl"] else "",
            "max_ttl": duration(row["max_ttl"]),
        }

    def namespace_row(self, row: dict[str, Any], memory: int) -> dict[str, Any]:
        name = row["name"]
        return {
            **self.group(row),
            "name": name,
            "label": _("(no namespace)")
            if name == ""
            else _("(other namespaces)")
            if name == OTHER
            else name,
            "share": percent(row["memory"] / memory) if memory else None,
        }

    def key(self, fact: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": (fact["logical"] if fact["logical"] is not None else fact["stored"])
            if self.may_see_keys
            else "",
            "token": fact["token"] if self.may_see_keys and fact["logical"] is not None else "",
            "outside": fact["logical"] is None,
            "type": self.labels.get(fact["group"], fact["group"]),
            "redis_type": fact["redis_type"],
            "ttl": duration(fact["ttl"]) if fact["ttl"] is not None else _("no expiry"),
            "size": size(fact["size"]),
            "node": fact["node"],
        }

    def charts(self, types: list[dict[str, Any]]) -> dict[str, Any]:
        present = [row for row in types if row["keys_n"]]
        return {
            "memory": {
                "labels": [str(row["label"]) for row in present],
                "max": 100,
                "datasets": [
                    {
                        "label": str(_("Memory share (%)")),
                        "data": [row["share"] for row in present],
                        "colour": "--ca-chart-rate",
                    },
                    {
                        "label": str(_("Hit rate, last hour (%)")),
                        "data": [row["rate"] for row in present],
                        "colour": "--ca-chart-ops",
                    },
                ],
            },
            "ttl": {
                "labels": [str(row["label"]) for row in present],
                "max": 100,
                "stacked": True,
                "horizontal": True,
                "datasets": [
                    {
                        "label": str(label),
                        "data": [row["ttl_shares"][i] for row in present],
                        "colour": f"--ca-ttl-{i}",
                    }
                    for i, label in enumerate(TTL_LABELS)
                ],
            },
        }


def report_context(report: KeyspaceReport, *, may_see_keys: bool) -> dict[str, Any]:
    data: dict[str, Any] = report.data or {}
    context: dict[str, Any] = {
        "report": report,
        "figures": None,
        "expiring_labels": TTL_LABELS[1:],
    }
    if report.started_at and report.finished_at:
        context["took"] = duration(round((report.finished_at - report.started_at).total_seconds()))
    if not data.get("types"):
        return context
    shaper = Shaper(data, may_see_keys)
    types = [shaper.type_row(row) for row in data["types"]]
    memory = int(data["memory"])
    keys = int(data["keys"])
    context["figures"] = {
        "exact": shaper.exact,
        "keys": shaper.count(keys),
        "memory": shaper.memory(memory),
        "sampled": number(data["sampled"]),
        "sampled_share": percent(min(1.0, data["sampled"] / keys)) if keys else None,
        "options": data["options"],
        "hit_rates": any(row["counted"] for row in types),
        "types": types,
        "namespaces": [shaper.namespace_row(row, memory) for row in data["namespaces"]],
        "namespaces_more": data["namespaces_more"],
        "namespaces_rest": shaper.group(data["namespaces_rest"])
        if data.get("namespaces_rest")
        else None,
        "redis_types": [{"name": row["name"], **shaper.group(row)} for row in data["redis_types"]],
        "biggest": [shaper.key(fact) for fact in data["biggest"]],
        "leaks": [shaper.key(fact) for fact in data["leaks"]],
        "recommendations": data.get("recommendations", []),
        "nodes": [
            {
                **node,
                "keys": number(node["keys"]),
                "used_memory": size(node["used_memory"]),
                "examined": number(node["examined"]),
                "sampled": number(node["sampled"]),
                "memory_sampled": size(node["memory_sampled"]),
            }
            for node in data["nodes"]
        ],
        "nodes_total": data["nodes_total"],
        "several_nodes": data["nodes_total"] > 1,
        "may_see_keys": may_see_keys,
        "charts": shaper.charts(types),
    }
    return context
