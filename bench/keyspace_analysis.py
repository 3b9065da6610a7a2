"""The keyspace analysis on 1,000,000 keys: total time, the longest server command, and how
far its estimates are from the exact counts.

The keyspace holds ``--keys`` keys of the site in five groups whose counts are known (four
cache types with different TTLs, one group of no type and no expiry), plus 5 % of keys of
another site (another KEY_PREFIX). Contenders, interleaved over ``--rounds`` rounds on the
same keyspace, each watched like ``bench/prefix_invalidation.py`` watches a deletion
(``LATENCY LATEST`` with a 1 ms threshold, SLOWLOG over 1 ms, a second process pinging
every millisecond; ``_watch.py``):

- the analysis with each ``--budgets`` sample size (keys examined per node; 100,000 is the
  ``ANALYSIS_SCAN_BUDGET`` default);
- the analysis walking the keyspace whole (a budget above it): exact figures, the
  reference for the memory estimates;
- ``redis-cli --memkeys`` (baseline: Redis's own tool, SCAN and MEMORY USAGE of every key,
  largest key per type only), when redis-cli is on PATH.

Estimates are compared with the known counts (keys, keys without expiry) and with the
whole walk (memory). SCAN's order is fixed for an unchanged keyspace in one server, so a
sample size gives the same estimate every round: the rounds repeat the timings.

    python bench/keyspace_analysis.py [--keys 1000000] [--rounds 5]
    python bench/keyspace_analysis.py --keys 100000 --rounds 1     # quick
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
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
from _watch import Watch

# name -> (share of the site's keys, prefix, TTL in seconds or 0 for none, value size)
GROUPS = {
    "product_detail": (0.5, "product:", 900, 300),
    "product_list": (0.2, "product:list:", 300, 2000),
    "cart": (0.15, "cart:user:", 1800, 120),
    "search_results": (0.1, "search:", 600, 800),
    "_untyped": (0.05, "legacy:", 0, 60),  # no type, no expiry: leaks
}
TYPES = {
    name: {"prefix": prefix, "ttl": ttl}
    for name, (_share, prefix, ttl, _size) in GROUPS.items()
    if not name.startswith("_")
}
WATCHED = ("scan", "memory|usage", "type", "pttl", "hset", "pexpire")


def error(estimate: float, exact: float) -> float:
    return round((estimate - exact) / exact * 100, 2) if exact else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1_000_000, help="keys of the site")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budgets", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--redis-nice",
        type=int,
        default=default_nice(),
        help="scheduling priority of the Redis server (default -10 when run as root)",
    )
    args = parser.parse_args()

    with start_redis(args.redis_nice) as server:
        configure(server, types=TYPES)
        from cache_admin import analysis
        from cache_admin.models import KeyspaceReport

        r = client(server)
        site = f"{KEY_PREFIX}:1:"
        exact = {name: round(args.keys * share) for name, (share, *_rest) in GROUPS.items()}
        began = time.perf_counter()
        for name, (_share, prefix, ttl, size) in GROUPS.items():
            populate(r, site + prefix, exact[name], b"v" * size, ttl=ttl)
        populate(r, "neighbour:1:product:", args.keys // 20, b"n" * 100)
        populate_seconds = time.perf_counter() - began
        total = int(r.dbsize())

        with Watch(r, f"{server.url}/0", WATCHED) as idle:
            time.sleep(2)
        emit("analysis_idle_machine", seconds=2, **idle.fields())

        def analyse(budget: int) -> tuple[float, KeyspaceReport]:
            started = time.perf_counter()
            job_id = analysis.start(None, analysis.options(budget))
            assert analysis.join(job_id, 3600)
            seconds = time.perf_counter() - started
            report = KeyspaceReport.objects.get(job_id=job_id)
            assert report.status == KeyspaceReport.DONE, report.error
            return seconds, report

        memkeys = shutil.which("redis-cli")
        contenders: list[tuple[str, int | None]] = [
            *((f"analysis_sampled_{budget}", budget) for budget in args.budgets),
            ("analysis_walked_whole", total * 2),
            *([("redis_cli_memkeys", None)] if memkeys else []),
        ]
        timings: dict[str, list[float]] = {name: [] for name, _ in contenders}
        # LATENCY's "command" event: commands Redis does not flag fast (SCAN, MEMORY
        # USAGE); "fast-command": O(1) ones (TYPE, PTTL, PING), whose stalls measure the
        # host taking Redis off the CPU rather than any work.
        longest: dict[str, list[int]] = {name: [] for name, _ in contenders}
        stalls: dict[str, list[int]] = {name: [] for name, _ in contenders}
        scans: dict[str, list[float]] = {name: [] for name, _ in contenders}
        pings: dict[str, list[float]] = {name: [] for name, _ in contenders}
        reports: dict[str, Any] = {}
        for round_number in range(args.rounds):
            for name, budget in contenders:
                with Watch(r, f"{server.url}/0", WATCHED) as watch:
                    if budget is None:
                        started = time.perf_counter()
                        subprocess.run(
                            [memkeys or "redis-cli", "-p", str(server.port), "--memkeys"],
                            check=True,
                            capture_output=True,
                        )
                        seconds = time.perf_counter() - started
                        report = None
                    else:
                        seconds, report = analyse(budget)
                fields = watch.fields()
                timings[name].append(seconds)
                longest[name].append(fields["latency_events"].get("command", 0))
                stalls[name].append(fields["latency_events"].get("fast-command", 0))
                scans[name].append(fields["mean_us_per_call"].get("scan", 0.0))
                pings[name].append(fields["ping_max_ms"])
                extra: dict[str, Any] = {}
                if report is not None:
                    reports[name] = report
                    extra = {"sampled": report.keys_sampled, "exact": report.exact}
                emit(
                    "keyspace_analysis",
                    contender=name,
                    round=round_number + 1,
                    keys=total,
                    seconds=round(seconds, 3),
                    **extra,
                    **fields,
                )

        truth = {row["name"]: row for row in reports["analysis_walked_whole"].data["types"]}
        for name, _budget in contenders:
            if name not in reports or name == "analysis_walked_whole":
                continue
            rows = {row["name"]: row for row in reports[name].data["types"]}
            emit(
                "keyspace_analysis_accuracy",
                contender=name,
                sampled=reports[name].keys_sampled,
                keys_total_error_percent=error(reports[name].keys_total, total),
                keys_error_percent={g: error(rows[g]["keys"], exact[g]) for g in GROUPS},
                no_ttl_error_percent=error(rows["_untyped"]["no_ttl"], exact["_untyped"]),
                memory_error_percent={
                    g: error(rows[g]["memory"], truth[g]["memory"]) for g in GROUPS
                },
                exact_walk_matches_counts=all(truth[g]["keys"] == exact[g] for g in GROUPS),
            )
        emit(
            "keyspace_analysis_summary",
            keys=total,
            rounds=args.rounds,
            populate_seconds=round(populate_seconds, 1),
            seconds_median={k: round(median(v), 2) for k, v in timings.items()},
            seconds_range={k: [round(min(v), 2), round(max(v), 2)] for k, v in timings.items()},
            longest_command_ms_max={k: max(v) for k, v in longest.items()},
            longest_command_ms_median={k: median(v) for k, v in longest.items()},
            host_stall_ms_max={k: max(v) for k, v in stalls.items()},
            scan_us_per_call_median={k: round(median(v), 1) for k, v in scans.items()},
            ping_max_ms_median={k: round(median(v), 2) for k, v in pings.items()},
            idle_ping_max_ms=idle.fields()["ping_max_ms"],
            target_longest_command_ms="<= 5",
            redis_nice=args.redis_nice,
            **environment(r),
        )


if __name__ == "__main__":
    main()
