"""``invalidate_by_prefix`` vs django-redis ``delete_pattern`` (its defaults) on the same keys.

The keyspace holds ``--keys`` keys under the logical prefix ``product:`` plus ``--others``
keys that must survive: half of them the site's own ``category:`` keys, half another
site's ``product:`` keys (another KEY_PREFIX on the same Redis). Each contender deletes
the prefix from a freshly populated keyspace, timed by the wall clock, while Redis is
watched three ways for the longest time it was busy with one command:

- ``LATENCY LATEST`` (``latency-monitor-threshold 1`` ms): includes EXEC of a transaction;
- ``SLOWLOG`` (commands over 1 ms; EXEC itself does not appear there);
- a second client in another process sending PING every millisecond (its worst round trip
  also includes the machine's scheduling delays, so an idle period is measured as well).

Run as root, the script raises the Redis server's scheduling priority (``--redis-nice``,
default -10), as a dedicated Redis host would have it: on a busy shared machine Redis is
otherwise taken off the CPU in the middle of commands and the maxima measure the host.
``LATENCY``'s "fast-command" event (O(1) commands such as PING) shows how long Redis itself
was kept off the CPU by the machine; the mean time per call of SCAN, UNLINK, DEL and EXEC
comes from INFO commandstats.

    python bench/prefix_invalidation.py [--keys 1000000] [--others 200000]
    python bench/prefix_invalidation.py --keys 100000 --others 20000   # quick
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from _common import (
    KEY_PREFIX,
    client,
    configure,
    default_nice,
    emit,
    environment,
    populate,
    start_redis,
)
from _watch import Watch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1_000_000, help="keys under the prefix")
    parser.add_argument("--others", type=int, default=200_000, help="keys that must survive")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle pinging")
    parser.add_argument("--scan-count", type=int, default=None, help="SCAN_COUNT to use")
    parser.add_argument(
        "--redis-nice",
        type=int,
        default=default_nice(),
        help="scheduling priority of the Redis server (default -10 when run as root)",
    )
    args = parser.parse_args()

    with start_redis(args.redis_nice) as server:
        configure(server, settings={"SCAN_COUNT": args.scan_count} if args.scan_count else None)
        from django.core.cache import cache

        from cache_admin import CacheInvalidator, backend
        from cache_admin.conf import conf

        r = client(server)
        value = backend.encode({"id": 1, "name": "Laptop", "price": "999.00"})
        site = f"{KEY_PREFIX}:1:"

        def fill() -> float:
            r.flushdb()
            began = time.perf_counter()
            populate(r, f"{site}product:", args.keys, value)
            populate(r, f"{site}category:", args.others // 2, value)
            populate(r, "neighbour:1:product:", args.others - args.others // 2, value)
            return time.perf_counter() - began

        def survivors() -> dict[str, int]:
            def count(pattern: str) -> int:
                return sum(1 for _ in r.scan_iter(match=pattern, count=10_000))

            return {
                "left_under_prefix": count(f"{site}product:*"),
                "others_left": count(f"{site}category:*") + count("neighbour:1:product:*"),
            }

        with Watch(r, f"{server.url}/0") as idle:
            time.sleep(args.idle)
        emit("prefix_idle_machine", seconds=args.idle, **idle.fields())

        contenders: dict[str, Callable[[], int]] = {
            "invalidate_by_prefix": lambda: CacheInvalidator.invalidate_by_prefix("product:"),
            "delete_pattern": lambda: cache.delete_pattern("product:*"),
        }
        rates: dict[str, float] = {}
        worst_ms: dict[str, int] = {}
        for name, run in contenders.items():
            populate_seconds = fill()
            assert r.dbsize() == args.keys + args.others
            with Watch(r, f"{server.url}/0") as watch:
                began = time.perf_counter()
                deleted = run()
                seconds = time.perf_counter() - began
            rates[name] = deleted / seconds
            worst_ms[name] = max(watch.latency.values(), default=0)
            emit(
                "prefix_invalidation",
                contender=name,
                keys=args.keys,
                others=args.others,
                deleted=deleted,
                seconds=round(seconds, 3),
                keys_per_second=round(rates[name]),
                **survivors(),
                **watch.fields(),
                populate_seconds=round(populate_seconds, 1),
            )
        emit(
            "prefix_invalidation_summary",
            speedup_vs_delete_pattern=round(
                rates["invalidate_by_prefix"] / rates["delete_pattern"], 2
            ),
            target_speedup=">= 5",
            invalidate_by_prefix_max_command_ms=worst_ms["invalidate_by_prefix"],
            delete_pattern_max_command_ms=worst_ms["delete_pattern"],
            target_max_command_ms="<= 10",
            scan_count=conf.SCAN_COUNT,
            redis_nice=args.redis_nice,
            **environment(r),
        )


if __name__ == "__main__":
    main()
