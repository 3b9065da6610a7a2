"""``invalidate_list_cache`` with 1,000 vs 1,000,000 cached lists: the ratio of the times.

Two models are cached at once in the same Redis: ``auth.Group`` with the small number of
lists and ``auth.Permission`` with the large one, and their invalidations alternate, so
both sizes are timed under the same machine load. The first 1,000 lists of each model
are real ``CachePattern.cache_list_view`` entries; the rest are copies of one real entry
written by a Lua loop (only the count of keys under ``<model>:list:`` matters to the
claim: an O(1) invalidation must not notice them). Each size also records the Redis
commands one invalidation issues, and that a cached list misses after it.

A baseline of the pattern approach (SCAN + DEL of ``<model>:list:*`` through django-redis
``delete_pattern`` with its defaults) runs last, once per size, unless ``--no-pattern``.

    python bench/list_invalidation.py [--small 1000] [--large 1000000] [--repeat 400]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _common import (
    KEY_PREFIX,
    client,
    configure,
    default_nice,
    emit,
    environment,
    median,
    populate,
    start_redis,
)

REAL_LISTS = 1000


def _commands(r: Any) -> int:
    return sum(int(v["calls"]) for v in r.info("commandstats").values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=400, help="invalidations per size")
    parser.add_argument("--no-pattern", action="store_true", help="skip the delete_pattern run")
    args = parser.parse_args()

    with start_redis() as server:
        configure(server)
        from django.contrib.auth.models import Group, Permission
        from django.core.cache import cache
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from cache_admin import CacheInvalidator, CachePattern, keys

        r = client(server)
        Group.objects.create(name="staff")
        sizes = {Group: args.small, Permission: args.large}

        def cached_list(model: Any, i: int) -> Any:
            return CachePattern.cache_list_view(model.objects.all(), filters={"i": i})

        def fill(model: Any, count: int) -> None:
            for i in range(min(count, REAL_LISTS)):
                cached_list(model, i)
            if count > REAL_LISTS:
                sample = r.get(cache.make_key(CachePattern.list_key(model.objects.all(), {"i": 0})))
                assert sample is not None
                stored_prefix = f"{KEY_PREFIX}:1:{keys.list_prefix(model)}bulk"
                populate(r, stored_prefix, count - REAL_LISTS, sample)

        started = time.perf_counter()
        for model, count in sizes.items():
            fill(model, count)
        populate_seconds = time.perf_counter() - started

        def list_keys(model: Any) -> int:
            pattern = f"{KEY_PREFIX}:1:{keys.list_prefix(model)}*"
            return sum(1 for _ in r.scan_iter(match=pattern, count=10_000))

        counted = {model: list_keys(model) for model in sizes}
        samples: dict[Any, list[float]] = {model: [] for model in sizes}
        for i in range(args.repeat):
            for model in sizes if i % 2 == 0 else reversed(list(sizes)):
                begin = time.perf_counter()
                CacheInvalidator.invalidate_list_cache(model)
                samples[model].append(time.perf_counter() - begin)

        for model in sizes:
            before = _commands(r)
            CacheInvalidator.invalidate_list_cache(model)
            commands = _commands(r) - before - 1  # minus the INFO that took the first count
            with CaptureQueriesContext(connection) as queries:
                cached_list(model, 0)  # must miss: computed again, one query or more
            missed_after = len(queries) > 0
            with CaptureQueriesContext(connection) as queries:
                cached_list(model, 0)
            hit_next = len(queries) == 0
            ordered = sorted(samples[model])
            emit(
                "invalidate_list_cache",
                model=model._meta.label,
                cached_lists=counted[model],
                median_us=round(median(ordered) * 1e6, 1),
                p90_us=round(ordered[int(len(ordered) * 0.9)] * 1e6, 1),
                redis_commands=commands,
                cached_list_missed_after=missed_after,
                refilled_then_hit=hit_next,
                repeat=args.repeat,
            )
        small, large = (median(samples[m]) for m in sizes)
        summary: dict[str, Any] = {
            "small_lists": counted[Group],
            "large_lists": counted[Permission],
            "ratio_large_to_small": round(large / small, 3),
            "target": "< 1.5",
            "populate_seconds": round(populate_seconds, 1),
        }
        if not args.no_pattern:
            # The peers' way, for scale: one SCAN walk (10 keys a step) and one DEL pipeline.
            for model in sizes:
                begin = time.perf_counter()
                deleted = cache.delete_pattern(f"{keys.list_prefix(model)}*")
                seconds = time.perf_counter() - begin
                summary[f"delete_pattern_{model._meta.model_name}_seconds"] = round(seconds, 4)
                summary[f"delete_pattern_{model._meta.model_name}_deleted"] = deleted
            summary["delete_pattern_ratio_large_to_small"] = round(
                summary["delete_pattern_permission_seconds"]
                / summary["delete_pattern_group_seconds"],
                1,
            )
        emit(
            "invalidate_list_cache_summary",
            **summary,
            redis_nice=default_nice(),
            **environment(r),
        )


if __name__ == "__main__":
    main()
