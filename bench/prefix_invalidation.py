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
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

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

PINGER = r"""
import json, sys, threading, time
import redis
# A long timeout: a PING that waits behind a long command is the measurement, not an error.
r = redis.Redis.from_url(sys.argv[1], socket_timeout=120)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
print("ready", flush=True)
worst = total = 0.0
pings = over = 0
while not stop.is_set():
    began = time.perf_counter()
    r.ping()
    took = time.perf_counter() - began
    pings += 1
    total += took
    worst = max(worst, took)
    over += took > 0.010
    time.sleep(0.001)
print(json.dumps({"pings": pings, "max_ms": round(worst * 1000, 2),
                  "mean_ms": round(total / max(pings, 1) * 1000, 3), "over_10ms": over}))
"""


class Watch:
    """Server-side and client-side latency during one run."""

    def __init__(self, r: Any, url: str) -> None:
        self.r = r
        self.url = url

    def __enter__(self) -> Watch:
        self.r.config_set("latency-monitor-threshold", 1)
        self.r.config_set("slowlog-log-slower-than", 1000)
        self.r.config_set("slowlog-max-len", 10000)
        self.r.execute_command("LATENCY", "RESET")
        self.r.slowlog_reset()
        self.r.config_resetstat()
        self.pinger = subprocess.Popen(
            [sys.executable, "-c", PINGER, self.url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.pinger.stdout is not None
        self.pinger.stdout.readline()  # "ready"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.pinger.stdin is not None and self.pinger.stdout is not None
        self.pinger.stdin.write("stop\n")
        self.pinger.stdin.flush()
        self.pings = json.loads(self.pinger.stdout.readline())
        self.pinger.wait(10)
        latest = self.r.execute_command("LATENCY", "LATEST") or []
        # Each entry: event name, time of the latest spike, latest ms, all-time max ms.
        self.latency = {
            (e[0].decode() if isinstance(e[0], bytes) else str(e[0])): int(e[3]) for e in latest
        }
        # Mean time Redis spent per call of each command (the server's own accounting): a
        # machine that deschedules Redis inflates the maxima above far more than these.
        stats = self.r.info("commandstats")
        watched = {
            name.removeprefix("cmdstat_"): v
            for name, v in stats.items()
            if name.removeprefix("cmdstat_") in ("scan", "unlink", "del", "exec")
        }
        self.per_call_us = {k: round(float(v["usec_per_call"]), 1) for k, v in watched.items()}
        self.calls = sum(int(v["calls"]) for v in watched.values())
        entries = self.r.slowlog_get(10000)
        self.over_10ms = sorted(
            e["command"].decode(errors="replace").split(" ", 1)[0]
            for e in entries
            if e["duration"] > 10_000
        )
        worst = max(entries, key=lambda e: e["duration"], default=None)
        self.slowlog_count = len(entries)
        self.slowlog_max_us = worst["duration"] if worst else 0
        self.slowlog_max_command = worst["command"].decode(errors="replace")[:40] if worst else None

    def fields(self) -> dict[str, Any]:
        return {
            "latency_latest_max_ms": max(self.latency.values(), default=0),
            "latency_events": self.latency,
            "mean_us_per_call": self.per_call_us,
            "commands": self.calls,
            "commands_over_10ms": len(self.over_10ms),
            "over_10ms_by_name": {n: self.over_10ms.count(n) for n in set(self.over_10ms)},
            "slowlog_entries_over_1ms": self.slowlog_count,
            "slowlog_max_us": self.slowlog_max_us,
            "slowlog_max_command": self.slowlog_max_command,
            "ping_max_ms": self.pings["max_ms"],
            "ping_mean_ms": self.pings["mean_ms"],
            "pings_over_10ms": self.pings["over_10ms"],
            "pings": self.pings["pings"],
        }


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
