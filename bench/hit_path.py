"""Hit path: ``cache_result`` hit vs raw ``cache.get`` of the same value vs django-cache-memoize.

All three read the same value from the same Redis in the same run (a raw redis-py GET
is shown for scale). The contenders take turns call by call and each call is timed on its
own; the median call is reported, which keeps a noisy neighbour on a shared machine from
favouring one of them.

    python bench/hit_path.py [--calls 2000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from _common import VALUE, configure, default_nice, emit, environment, median, start_redis


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000, help="calls per contender per round")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    with start_redis() as server:
        configure(server, {"user_profile": {"prefix": "user_profile:", "ttl": 600}})
        from cache_memoize import cache_memoize
        from django.core.cache import cache

        from cache_admin import cache_result, counters
        from cache_admin.backend import client

        raw = client()

        @cache_result(timeout=600, key_prefix="user_profile")
        def profile(user_id: int) -> dict[str, Any]:
            return VALUE

        @cache_memoize(600)
        def memoized(user_id: int) -> dict[str, Any]:
            return VALUE

        cache.set("user_profile:raw", VALUE, 600)
        assert profile(42) == VALUE and profile(42) == VALUE
        assert memoized(42) == VALUE and memoized(42) == VALUE
        assert cache.get("user_profile:raw") == VALUE

        key = cache.make_key("user_profile:raw")
        redis_get = raw.get
        contenders: dict[str, Callable[[], Any]] = {
            "cache.get": lambda: cache.get("user_profile:raw"),
            "cache_result": lambda: profile(42),
            "cache_memoize": lambda: memoized(42),
            "redis_py_get": lambda: redis_get(key),
        }
        # Commands per hit, counted by Redis itself (P1: one round trip).
        counters.flush()
        before = sum(v["calls"] for v in raw.info("commandstats").values())
        for _ in range(1000):
            profile(42)
        counters.flush()
        after = sum(v["calls"] for v in raw.info("commandstats").values())
        commands_per_hit = (after - before - 2) / 1000  # minus the INFO and the flush

        # Every call is timed on its own and the contenders take turns call by call, so
        # they share the machine's load; the median call leaves out the calls during which
        # the process was descheduled.
        names = list(contenders)
        calls = [contenders[name] for name in names]
        samples: list[list[int]] = [[] for _ in names]
        clock = time.perf_counter_ns
        for _ in range(args.calls // 5):  # warm-up
            for call in calls:
                call()
        for round_no in range(args.rounds):
            shift = round_no % len(names)
            order = list(range(shift, len(names))) + list(range(shift))
            for _ in range(args.calls):
                for i in order:
                    began = clock()
                    calls[i]()
                    samples[i].append(clock() - began)
        medians = {name: median(samples[i]) / 1000 for i, name in enumerate(names)}

        def ratio(a: str, b: str) -> float:
            return round(medians[a] / medians[b], 3)

        for i, name in enumerate(names):
            ordered = sorted(samples[i])
            emit(
                "hit_path",
                contender=name,
                median_us=round(medians[name], 2),
                p90_us=round(ordered[int(len(ordered) * 0.9)] / 1000, 2),
                ratio_to_cache_get=ratio(name, "cache.get"),
                calls=len(ordered),
            )
        emit(
            "hit_path_summary",
            cache_result_vs_cache_get=ratio("cache_result", "cache.get"),
            cache_result_vs_memoize=ratio("cache_result", "cache_memoize"),
            memoize_vs_cache_get=ratio("cache_memoize", "cache.get"),
            cache_result_commands_per_hit=round(commands_per_hit, 3),
            target_vs_cache_get="<= 1.10",
            target_vs_memoize="<= 1.00",
            calls=args.calls,
            rounds=args.rounds,
            redis_nice=default_nice(),
            **environment(raw),
        )


if __name__ == "__main__":
    main()
