"""Figures of a load run: hit rates, queries per request, latency percentiles."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from django.conf import settings

from cache_admin.counters import Counts
from shop.loadgen.runner import NO_ANSWER, PassResult


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def pass_figures(result: PassResult) -> dict[str, Any]:
    samples = result.samples
    n = len(samples)
    latencies = [s.seconds * 1000 for s in samples]
    counted = [s.queries for s in samples if s.queries is not None]
    return {
        "requests": n,
        "seconds": round(result.wall_seconds, 2),
        "requests_per_second": round(n / result.wall_seconds, 1) if result.wall_seconds else 0,
        # None when the server does not report its queries (X-Shop-Queries).
        "queries_per_request": round(sum(counted) / len(counted), 3) if counted else None,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "errors": sum(1 for s in samples if s.status >= 500),
        "no_answer": sum(1 for s in samples if s.status == NO_ANSWER),
        "statuses": sorted({s.status for s in samples if s.status != NO_ANSWER}),
        "edits": result.edits,
    }


def delta(after: dict[str, Counts], before: dict[str, Counts]) -> dict[str, Counts]:
    out = {}
    for name, counts in after.items():
        old = before.get(name, Counts())
        out[name] = Counts(
            *(getattr(counts, f.name) - getattr(old, f.name) for f in fields(Counts))
        )
    return out


def type_label(name: str) -> str:
    spec = settings.CACHE_ADMIN.get("TYPES", {}).get(name)
    if isinstance(spec, dict) and spec.get("label"):
        return str(spec["label"])
    return "Untyped (no cache type)" if name == "_untyped" else name


def hit_rates(counts: dict[str, Counts]) -> dict[str, Any]:
    lookups = {name: c for name, c in counts.items() if c.lookups}
    hits = sum(c.hits for c in lookups.values())
    misses = sum(c.misses for c in lookups.values())
    return {
        "overall": round(hits / (hits + misses), 4) if hits + misses else None,
        "hits": hits,
        "misses": misses,
        "per_type": {
            name: {
                "label": type_label(name),
                "hits": c.hits,
                "misses": c.misses,
                "hit_rate": round(c.hit_rate, 4) if c.hit_rate is not None else None,
                # Why they missed (the page and fragment caches' own counts tell no reason).
                "miss_reasons": {**c.reasons, "other": c.unexplained},
            }
            for name, c in sorted(lookups.items())
        },
    }


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def _reasons(row: dict[str, Any]) -> str:
    reasons = row.get("miss_reasons") or {}
    return ", ".join(f"{name} {n}" for name, n in reasons.items() if n)


def render_text(report: dict[str, Any]) -> list[str]:
    cfg = report["config"]
    lines = [
        f"Load: {report['cached']['requests']} requests in {report['cached']['seconds']:g} s "
        f"with the cache, {(report.get('bypass') or {}).get('requests', 0)} without, "
        f"{cfg['concurrency']} concurrent clients, Zipf s={cfg['zipf']:g}, "
        f"{cfg['signed_in_share'] * 100:.0f}% signed in, {cfg['products']} products",
        f"Sent to: {cfg['target']}",
        "",
        f"{'':18} {'requests':>9} {'req/s':>8} {'queries/req':>12} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'5xx':>5}",
    ]
    for key, title in (("cached", "with the cache"), ("bypass", "caching disabled")):
        figures = report.get(key)
        if not figures:
            continue
        qpr = figures["queries_per_request"]
        lines.append(
            f"{title:18} {figures['requests']:>9} {figures['requests_per_second']:>8} "
            f"{'n/a' if qpr is None else f'{qpr:.3f}':>12} {figures['p50_ms']:>8} "
            f"{figures['p95_ms']:>8} {figures['errors']:>5}"
        )
    for key, title in (("cached", "with the cache"), ("bypass", "caching disabled")):
        figures = report.get(key) or {}
        if figures.get("no_answer"):
            lines.append(f"{figures['no_answer']} requests {title} got no answer from the server")
    if report["cached"]["queries_per_request"] is None:
        lines.append(
            "DB queries per request: not reported by the server (it sends X-Shop-Queries "
            "only with SHOP_ALLOW_CACHE_BYPASS, the demo's DEBUG default)"
        )
    if report.get("query_reduction") is not None:
        lines.append(
            f"DB queries per request: {report['query_reduction']:.1f}x fewer with the cache"
        )
    rates = report["hit_rate"]
    lines += ["", f"Hit rate (cache_admin counters, this run): {_pct(rates['overall'])}"]
    for row in rates["per_type"].values():
        lines.append(
            f"  {row['label']:28} {_pct(row['hit_rate']):>7}  "
            f"{row['hits']:>8} hits {row['misses']:>7} misses  {_reasons(row)}"
        )
    if report.get("redis_hit_rate") is not None:
        lines.append(
            f"Redis keyspace hit rate (INFO, every command): {_pct(report['redis_hit_rate'])}"
        )
    lines.append(f"Product edits during the pass with the cache: {report['cached']['edits']}")
    return lines
