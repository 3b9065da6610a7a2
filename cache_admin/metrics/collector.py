"""A custom collector over a private CollectorRegistry: every scrape reads the shared stores.

Per-type counters come from ``counter_totals.totals()``, the all-time hash in Redis that every
process flushes into, so the figures add up across web processes and workers. Warm runs
come from the WarmRun table plus WarmRunTotal (the runs pruned from its history). Redis
figures come from ``stats.server_status()`` (INFO of each primary node, summed), under the
names redis_exporter uses, so the spec's PromQL works against either.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count, Max, QuerySet, Sum
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector, CollectorRegistry

from cache_admin import backend, counter_totals
from cache_admin.models import WarmRun, WarmRunTotal
from cache_admin.stats import ServerStatus, server_status

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
        server = server_status()
        up = GaugeMetricFamily("redis_up", "Whether the cache's Redis answered INFO.")
        up.add_metric([], 1 if server.connected else 0)
        yield up
        if server.connected:
            yield from redis_families(server)
            yield from counter_families()
        yield from warm_families()


def redis_families(server: ServerStatus) -> Iterator[Metric]:
    gauges = [
        ("redis_memory_used_bytes", server.used_memory, "Memory used by Redis."),
        ("redis_memory_max_bytes", server.maxmemory or 0, "Redis maxmemory (0: no limit)."),
        ("redis_connected_clients", server.connected_clients, "Connected clients."),
    ]
    for name, value, text in gauges:
        yield GaugeMetricFamily(name, text, value=value or 0)
    totals = [
        ("redis_commands_processed", server.total_commands, "Commands processed."),
        ("redis_keyspace_hits", server.keyspace_hits, "Successful key lookups (all clients)."),
        ("redis_keyspace_misses", server.keyspace_misses, "Failed key lookups (all clients)."),
        ("redis_evicted_keys", server.evicted_keys, "Keys evicted because of maxmemory."),
        ("redis_expired_keys", server.expired_keys, "Keys removed on expiry."),
    ]
    for name, value, text in totals:
        yield CounterMetricFamily(name, text, value=value or 0)
    keys = GaugeMetricFamily("redis_db_keys", "Keys per Redis database.", labels=["db"])
    for db, count in server.keys_per_db.items():
        keys.add_metric([db], count)
    yield keys


def counter_families() -> Iterator[Metric]:
    try:
        per_type = counter_totals.totals()
    except backend.REDIS_ERRORS as exc:
        logger.warning("cache counters not readable for metrics: %r", exc)
        return
    for event, text in EVENT_HELP.items():
        family = CounterMetricFamily(f"cache_admin_{event}", text, labels=["type"])
        for type_name, counts in per_type.items():
            family.add_metric([type_name], getattr(counts, event))
        yield family
    # Beside cache_admin_misses_total: the same misses by reason (the counts a project
    # recorded without one are in no reason).
    reasons = CounterMetricFamily(
        "cache_admin_miss_reasons",
        "Cache misses by reason (absent, invalidated, lease_wait), per cache type.",
        labels=["type", "reason"],
    )
    for type_name, counts in per_type.items():
        for reason, n in counts.reasons.items():
            reasons.add_metric([type_name, reason], n)
    yield reasons


def warm_families() -> Iterator[Metric]:
    """Warm runs: the rows kept in history plus the totals of the runs pruned from it."""
    finished = WarmRun.objects.filter(status__in=[WarmRun.SUCCEEDED, WarmRun.FAILED])
    pruned = list(WarmRunTotal.objects.order_by("warmer", "status"))
    yield _runs(finished, pruned)
    yield _active()
    yield _durations(finished, pruned)
    yield _keys_written(finished, pruned)
    yield _last_success(finished, pruned)


Finished = QuerySet[WarmRun]


def _runs(finished: Finished, pruned: list[WarmRunTotal]) -> Metric:
    family = CounterMetricFamily(
        "cache_admin_warm_runs", "Finished warm runs by outcome.", labels=["warmer", "status"]
    )
    counts = Counter({(t.warmer, t.status): t.runs for t in pruned})
    for row in finished.values("warmer", "status").annotate(n=Count("id")).order_by():
        counts[(row["warmer"], row["status"])] += row["n"]
    for (warmer, status), n in sorted(counts.items()):
        family.add_metric([warmer, status], n)
    return family


def _active() -> Metric:
    family = GaugeMetricFamily(
        "cache_admin_warm_active", "Warm runs queued or running.", labels=["warmer", "status"]
    )
    busy = WarmRun.objects.filter(status__in=[WarmRun.QUEUED, WarmRun.RUNNING])
    for row in busy.values("warmer", "status").annotate(n=Count("id")).order_by("warmer"):
        family.add_metric([row["warmer"], row["status"]], row["n"])
    return family


def _durations(finished: Finished, pruned: list[WarmRunTotal]) -> Metric:
    family = SummaryMetricFamily(
        "cache_admin_warm_duration_seconds", "Duration of finished warm runs.", labels=["warmer"]
    )
    runs: Counter[str] = Counter()
    seconds: defaultdict[str, float] = defaultdict(float)
    for total in pruned:
        runs[total.warmer] += total.timed_runs
        seconds[total.warmer] += total.seconds
    timed = finished.filter(started_at__isnull=False)
    for warmer, started, ended in timed.values_list("warmer", "started_at", "finished_at"):
        if started and ended:
            runs[warmer] += 1
            seconds[warmer] += (ended - started).total_seconds()
    for warmer in sorted(runs):
        family.add_metric([warmer], count_value=runs[warmer], sum_value=seconds[warmer])
    return family


def _keys_written(finished: Finished, pruned: list[WarmRunTotal]) -> Metric:
    family = CounterMetricFamily(
        "cache_admin_warm_keys_written", "Keys written by warm runs.", labels=["warmer"]
    )
    keys: Counter[str] = Counter()
    for total in pruned:
        keys[total.warmer] += total.keys_written
    sums = finished.values("warmer").annotate(keys=Sum("keys_written")).order_by()
    for warmer, n in sums.values_list("warmer", "keys"):
        keys[warmer] += n or 0
    for warmer, n in sorted(keys.items()):
        family.add_metric([warmer], n)
    return family


def _last_success(finished: Finished, pruned: list[WarmRunTotal]) -> Metric:
    family = GaugeMetricFamily(
        "cache_admin_warm_last_success_timestamp_seconds",
        "When each warmer last finished successfully (Unix time).",
        labels=["warmer"],
    )
    latest: dict[str, datetime] = {
        t.warmer: t.last_finished_at
        for t in pruned
        if t.status == WarmRun.SUCCEEDED and t.last_finished_at is not None
    }
    ok = finished.filter(status=WarmRun.SUCCEEDED).values("warmer").annotate(t=Max("finished_at"))
    for warmer, when in ok.order_by().values_list("warmer", "t"):
        if when is not None and (warmer not in latest or when > latest[warmer]):
            latest[warmer] = when
    for warmer, when in sorted(latest.items()):
        family.add_metric([warmer], when.timestamp())
    return family


def metrics_registry() -> CollectorRegistry:
    """A private registry with only this collector (nothing of the process's default one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CacheAdminCollector())
    return registry
