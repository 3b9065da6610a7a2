"""A custom collector over a private CollectorRegistry: every scrape reads the shared stores.

Per-type counters come from ``counters.totals()``, the all-time hash in Redis that every
process flushes into, so the figures add up across web processes and workers. Warm runs
come from the WarmRun table. Redis figures come from INFO on each primary node (summed),
under the names redis_exporter uses, so the spec's PromQL works against either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Max, Sum
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector, CollectorRegistry

from cache_admin import backend, counters
from cache_admin.breaker import breaker_for
from cache_admin.models import WarmRun

logger = logging.getLogger("cache_admin")

EVENT_HELP = {
    "hits": "Cache lookups that found a value, per cache type.",
    "misses": "Cache lookups that found nothing, per cache type.",
    "fills": "Values computed and written after a miss, per cache type.",
    "errors": "Cache operations that failed (Redis unreachable or erroring), per cache type.",
    "invalidations": "Keys or groups invalidated, per cache type.",
}


class CacheAdminCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        info = redis_info()
        up = GaugeMetricFamily("redis_up", "Whether the cache's Redis answered INFO.")
        up.add_metric([], 1 if info is not None else 0)
        yield up
        if info is not None:
            yield from redis_families(info)
            yield from counter_families()
        yield from warm_families()


def redis_info() -> dict[str, Any] | None:
    """INFO of every primary node, numbers summed (keyspace per db); None when unreachable."""
    breaker = breaker_for(backend.alias())
    if not breaker.allow():
        return None
    merged: dict[str, Any] = {"keyspace": {}}
    try:
        for client in backend.primary_clients():
            info = client.info()
            for field in (
                "used_memory",
                "maxmemory",
                "total_commands_processed",
                "keyspace_hits",
                "keyspace_misses",
                "connected_clients",
                "evicted_keys",
                "expired_keys",
            ):
                merged[field] = merged.get(field, 0) + int(info.get(field, 0) or 0)
            for name, value in info.items():
                if name.startswith("db") and isinstance(value, dict):
                    merged["keyspace"][name] = merged["keyspace"].get(name, 0) + int(
                        value.get("keys", 0)
                    )
    except backend.REDIS_ERRORS as exc:
        breaker.failure(exc)
        return None
    except backend.NotRedisBackend:
        return None
    breaker.success()
    return merged


def redis_families(info: dict[str, Any]) -> Iterator[Metric]:
    gauges = [
        ("redis_memory_used_bytes", "used_memory", "Memory used by Redis."),
        ("redis_memory_max_bytes", "maxmemory", "Redis maxmemory (0: no limit)."),
        ("redis_connected_clients", "connected_clients", "Connected clients."),
    ]
    for name, field, text in gauges:
        yield GaugeMetricFamily(name, text, value=info[field])
    totals = [
        ("redis_commands_processed", "total_commands_processed", "Commands processed."),
        ("redis_keyspace_hits", "keyspace_hits", "Successful key lookups (all clients)."),
        ("redis_keyspace_misses", "keyspace_misses", "Failed key lookups (all clients)."),
        ("redis_evicted_keys", "evicted_keys", "Keys evicted because of maxmemory."),
        ("redis_expired_keys", "expired_keys", "Keys removed on expiry."),
    ]
    for name, field, text in totals:
        yield CounterMetricFamily(name, text, value=info[field])
    keys = GaugeMetricFamily("redis_db_keys", "Keys per Redis database.", labels=["db"])
    for db, count in sorted(info["keyspace"].items()):
        keys.add_metric([db], count)
    yield keys


def counter_families() -> Iterator[Metric]:
    try:
        per_type = counters.totals()
    except backend.REDIS_ERRORS as exc:
        logger.warning("cache counters not readable for metrics: %r", exc)
        return
    for event, text in EVENT_HELP.items():
        family = CounterMetricFamily(f"cache_admin_{event}", text, labels=["type"])
        for type_name, counts in per_type.items():
            family.add_metric([type_name], getattr(counts, event))
        yield family


def warm_families() -> Iterator[Metric]:
    runs = CounterMetricFamily(
        "cache_admin_warm_runs", "Finished warm runs by outcome.", labels=["warmer", "status"]
    )
    finished = WarmRun.objects.filter(status__in=[WarmRun.SUCCEEDED, WarmRun.FAILED])
    for row in finished.values("warmer", "status").annotate(n=Count("id")).order_by("warmer"):
        runs.add_metric([row["warmer"], row["status"]], row["n"])
    yield runs

    active = GaugeMetricFamily(
        "cache_admin_warm_active", "Warm runs queued or running.", labels=["warmer", "status"]
    )
    busy = WarmRun.objects.filter(status__in=[WarmRun.QUEUED, WarmRun.RUNNING])
    for row in busy.values("warmer", "status").annotate(n=Count("id")).order_by("warmer"):
        active.add_metric([row["warmer"], row["status"]], row["n"])
    yield active

    durations = SummaryMetricFamily(
        "cache_admin_warm_duration_seconds", "Duration of finished warm runs.", labels=["warmer"]
    )
    written = CounterMetricFamily(
        "cache_admin_warm_keys_written", "Keys written by warm runs.", labels=["warmer"]
    )
    last_ok = GaugeMetricFamily(
        "cache_admin_warm_last_success_timestamp_seconds",
        "When each warmer last finished successfully (Unix time).",
        labels=["warmer"],
    )
    seconds: dict[str, list[float]] = {}
    for warmer, started, ended in finished.filter(started_at__isnull=False).values_list(
        "warmer", "started_at", "finished_at"
    ):
        if started and ended:
            seconds.setdefault(warmer, []).append((ended - started).total_seconds())
    for warmer, values in sorted(seconds.items()):
        durations.add_metric([warmer], count_value=len(values), sum_value=sum(values))
    yield durations
    sums = finished.values("warmer").annotate(keys=Sum("keys_written")).order_by("warmer")
    for warmer, keys in sums.values_list("warmer", "keys"):
        written.add_metric([warmer], keys or 0)
    yield written
    ok = finished.filter(status=WarmRun.SUCCEEDED).values("warmer").annotate(t=Max("finished_at"))
    for warmer, when in ok.order_by("warmer").values_list("warmer", "t"):
        if when is not None:
            last_ok.add_metric([warmer], when.timestamp())
    yield last_ok


def metrics_registry() -> CollectorRegistry:
    """A private registry with only this collector (nothing of the process's default one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CacheAdminCollector())
    return registry
