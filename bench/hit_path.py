"""Hit path: ``cache_result`` hit vs raw ``cache.get`` of the same value vs django-cache-memoize.

All three read the same value from the same Redis in the same run. Rounds alternate the
order of the contenders and the median round is reported, which keeps a noisy neighbour
on a shared machine from favouring one of them.

    python bench/hit_path.py [--calls 1000] [--rounds 41]
"""

from __future__ import annotations

import argparse
from typing import Any

from _common import configure, emit, environment, median, per_call, start_redis

VALUE = {
    "id": 42,
    "username": "ada",
    "email": "ada@example.com",
    "profile": {"bio": "x" * 200, "tags": ["a", "b", "c"], "score": 3.5},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000, help="calls per contender per round")
    parser.add_argument("--rounds", type=int, default=41)
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

        def loop_raw_get(n: int) -> None:
            get = cache.get
            for _ in range(n):
                get("user_profile:raw")

        def loop_cache_result(n: int) -> None:
            for _ in range(n):
                profile(42)

        def loop_memoize(n: int) -> None:
            for _ in range(n):
                memoized(42)

        def loop_redis_py(n: int) -> None:
            key = cache.make_key("user_profile:raw")
            get = raw.get
            for _ in range(n):
                get(key)

        contenders = {
            "cache.get": loop_raw_get,
            "cache_result": loop_cache_result,
            "cache_memoize": loop_memoize,
            "redis_py_get": loop_redis_py,
        }
        # Commands per hit, counted by Redis itself (P1: one round trip).
        counters.flush()
        before = sum(v["calls"] for v in raw.info("commandstats").values())
        loop_cache_result(1000)
        counters.flush()
        after = sum(v["calls"] for v in raw.info("commandstats").values())
        commands_per_hit = (after - before - 2) / 1000  # minus the INFO and the flush

        for loop in contenders.values():  # warm-up
            loop(args.calls // 5)
        wall: dict[str, list[float]] = {name: [] for name in contenders}
        cpu: dict[str, list[float]] = {name: [] for name in contenders}
        names = list(contenders)
        for round_no in range(args.rounds):
            order = names[round_no % len(names) :] + names[: round_no % len(names)]
            for name in order:
                w, c = per_call(contenders[name], args.calls)
                wall[name].append(w)
                cpu[name].append(c)

        def ratio(samples: dict[str, list[float]], a: str, b: str) -> float:
            return round(median(samples[a]) / median(samples[b]), 3)

        for name in names:
            emit(
                "hit_path",
                contender=name,
                us_per_call=round(median(wall[name]) * 1e6, 2),
                cpu_us_per_call=round(median(cpu[name]) * 1e6, 2),
                ratio_to_cache_get=ratio(wall, name, "cache.get"),
                cpu_ratio_to_cache_get=ratio(cpu, name, "cache.get"),
            )
        emit(
            "hit_path_summary",
            cache_result_vs_cache_get=ratio(wall, "cache_result", "cache.get"),
            cache_result_vs_memoize=ratio(wall, "cache_result", "cache_memoize"),
            cpu_cache_result_vs_cache_get=ratio(cpu, "cache_result", "cache.get"),
            cpu_cache_result_vs_memoize=ratio(cpu, "cache_result", "cache_memoize"),
            memoize_vs_cache_get=ratio(wall, "cache_memoize", "cache.get"),
            cache_result_commands_per_hit=round(commands_per_hit, 3),
            target_vs_cache_get="<= 1.10",
            target_vs_memoize="<= 1.00",
            calls=args.calls,
            rounds=args.rounds,
            **environment(raw),
        )


if __name__ == "__main__":
    main()
