"""``invalidate_by_prefix`` vs django-redis ``delete_pattern`` and a hand-written loop.

The keyspace holds ``--keys`` keys under the logical prefix ``product:`` plus ``--others``
keys that must survive: half of them the site's own ``category:`` keys, half another
site's ``product:`` keys (another KEY_PREFIX on the same Redis). Three contenders delete
the prefix, each from a freshly populated keyspace, timed by the wall clock:

- ``invalidate_by_prefix`` (the toolkit);
- ``delete_pattern`` (django-redis, its defaults);
- a hand-written loop: ``SCAN cursor MATCH ... COUNT 1000`` then one ``UNLINK`` of the
  batch found, one round trip each, until the cursor comes back to 0.

``--rounds`` rounds run the three in turn, the order turning from round to round, so a
noisy neighbour on a shared machine moves the rounds rather than one contender; the ratios
are taken per round and reported as the median and range over the rounds. During each run
Redis is watched (``_watch.py``) for the longest time it was busy with one command:
``LATENCY LATEST``, ``SLOWLOG`` and a PING client in another process.

Run as root, the script raises the Redis server's scheduling priority (``--redis-nice``,
default -10), as a dedicated Redis host would have it: on a busy shared machine Redis is
otherwise taken off the CPU in the middle of commands and the maxima measure the host.
``LATENCY``'s "fast-command" event (O(1) commands such as PING) shows how long Redis itself
was kept off the CPU by the machine; the mean time per call of SCAN, UNLINK, DEL, EXEC and
EVALSHA comes from INFO commandstats.

    python bench/prefix_invalidation.py [--keys 1000000] [--others 200000] [--rounds 3]
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
    median,
    populate,
    start_redis,
)
from _watch import Watch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1_000_000, help="keys under the prefix")
    parser.add_argument("--others", type=int, default=200_000, help="keys that must survive")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle pinging")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--scan-count", type=int, default=None, help="SCAN_COUNT to use")
    parser.add_argument("--step-ms", type=int, default=None, help="PREFIX_STEP_MS to use")
    parser.add_argument(
        "--redis-nice",
        type=int,
        default=default_nice(),
        help="scheduling priority of the Redis server (default -10 when run as root)",
    )
    args = parser.parse_args()
    chosen = {"SCAN_COUNT": args.scan_count, "PREFIX_STEP_MS": args.step_ms}

    with start_redis(args.redis_nice) as server:
        configure(server, settings={k: v for k, v in chosen.items() if v is not None})
        from django.core.cache import cache, caches

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

        def hand_written() -> int:
            own = backend.client(caches["default"])  # the site's own connection
            cursor, deleted = 0, 0
            while True:
                cursor, keys = own.scan(cursor, match=f"{site}product:*", count=1000)
                if keys:
                    deleted += own.unlink(*keys)
                if cursor == 0:
                    return deleted

        with Watch(r, f"{server.url}/0") as idle:
            time.sleep(args.idle)
        emit("prefix_idle_machine", seconds=args.idle, **idle.fields())

        contenders: dict[str, Callable[[], int]] = {
            "invalidate_by_prefix": lambda: CacheInvalidator.invalidate_by_prefix("product:"),
            "hand_written_loop": hand_written,
            "delete_pattern": lambda: cache.delete_pattern("product:*"),
        }
        names = list(contenders)
        seconds: dict[str, list[float]] = {name: [] for name in names}
        longest_us: dict[str, list[int]] = {name: [] for name in names}
        host_stall_ms: list[int] = []
        for round_no in range(args.rounds):
            shift = round_no % len(names)
            for name in names[shift:] + names[:shift]:
                populate_seconds = fill()
                assert r.dbsize() == args.keys + args.others
                with Watch(r, f"{server.url}/0", COMMANDS) as watch:
                    began = time.perf_counter()
                    deleted = contenders[name]()
                    took = time.perf_counter() - began
                left = survivors()
                assert deleted == args.keys and left["left_under_prefix"] == 0, (name, left)
                assert left["others_left"] == args.others, (name, left)
                seconds[name].append(took)
                # The longest command: SLOWLOG's (µs) or, for EXEC, LATENCY's "command" (ms).
                longest = max(watch.slowlog_max_us, 1000 * watch.latency.get("command", 0))
                longest_us[name].append(longest)
                host_stall_ms.append(watch.latency.get("fast-command", 0))
                emit(
                    "prefix_invalidation",
                    round=round_no,
                    contender=name,
                    keys=args.keys,
                    others=args.others,
                    deleted=deleted,
                    seconds=round(took, 3),
                    keys_per_second=round(deleted / took),
                    longest_command_us=longest,
                    **left,
                    **watch.fields(),
                    populate_seconds=round(populate_seconds, 1),
                )

        def ratios(baseline: str) -> dict[str, float]:
            # Per round: the baseline's time over the toolkit's (above 1: the toolkit is faster).
            toolkit = seconds["invalidate_by_prefix"]
            per_round = [b / t for b, t in zip(seconds[baseline], toolkit, strict=True)]
            return spread(per_round, 2)

        emit(
            "prefix_invalidation_summary",
            rounds=args.rounds,
            seconds={name: spread(seconds[name], 3) for name in names},
            speedup_vs_delete_pattern=ratios("delete_pattern"),
            speedup_vs_hand_written_loop=ratios("hand_written_loop"),
            target=">= 8x delete_pattern, >= 1.2x the hand-written loop",
            longest_command_us={name: spread(longest_us[name], 0) for name in names},
            target_longest_command_ms="<= 5",
            longest_o1_command_ms=spread(host_stall_ms, 0),
            scan_count=conf.SCAN_COUNT,
            prefix_step_ms=conf.PREFIX_STEP_MS,
            redis_nice=args.redis_nice,
            **environment(r),
        )


# The commands whose mean time per call is reported.
COMMANDS = ("scan", "unlink", "del", "exec", "evalsha")


def spread(values: list[float] | list[int], digits: int) -> dict[str, float]:
    return {
        "median": round(median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


if __name__ == "__main__":
    main()
