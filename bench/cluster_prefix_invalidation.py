"""``invalidate_by_prefix`` on a 3-primary Redis Cluster vs django-valkey's
``ClusterValkeyCache.delete_pattern``, each from a freshly filled cluster, in the same run.

The cluster holds ``--keys`` keys under the logical prefix ``product:`` plus ``--others``
that must survive: half the site's own ``category:`` keys, half another site's
``product:`` keys (another KEY_PREFIX). The toolkit deletes through the package's
``RedisClusterCache`` alias, django-valkey through its own, both on the same keys
(KEY_PREFIX ``bench``, version 1). Each deletion runs in a fresh process of its own, so
its peak memory (``ru_maxrss`` after the call minus before it) is its own; the process
times the call by the wall clock. Every primary is watched (``_watch.py``, one watcher
each: SLOWLOG, LATENCY, a PING client) and the longest command on any node is reported.
Rounds alternate the order of the two contenders; the ratio is taken per round.

    python bench/cluster_prefix_invalidation.py [--keys 1000000] [--others 200000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from contextlib import ExitStack
from types import SimpleNamespace
from typing import Any

import redis
from _cluster import cluster_cache, dbsize, fill, owners, primaries, renice
from _common import KEY_PREFIX, ROOT, default_nice, emit
from _watch import Watch
from prefix_invalidation import COMMANDS, spread

from cache_admin.testing import RedisClusterServer

SITE = f"{KEY_PREFIX}:1:"
SOCKETS = {"socket_connect_timeout": 5, "socket_timeout": 120}
CONTENDERS = ("invalidate_by_prefix", "delete_pattern")


def caches(url: str) -> dict[str, dict[str, Any]]:
    return {
        "cluster": cluster_cache(url, timeout=120),
        "cluster_valkey": {
            "BACKEND": "django_valkey.cluster_cache.cache.ClusterValkeyCache",
            "LOCATION": url.replace("redis://", "valkey://", 1),
            "KEY_PREFIX": KEY_PREFIX,
            # Its cluster client takes its socket options from here.
            "OPTIONS": {"BASE_CLIENT_KWARGS": SOCKETS},
        },
    }


def delete(url: str, contender: str) -> None:
    """In a process of its own: one deletion, its seconds and its peak memory growth."""
    from _common import configure

    configure(
        SimpleNamespace(url=url),  # type: ignore[arg-type]
        settings={"CACHE_ALIAS": "cluster", "HISTORY_SAMPLING": False},
        caches=caches(url),
    )
    from django.core.cache import caches as django_caches

    from cache_admin import CacheInvalidator

    valkey = django_caches["cluster_valkey"]
    # Both connected before the clock starts (the cluster's slot map read once).
    django_caches["cluster"].get("warm")
    valkey.get("warm")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    if contender == "invalidate_by_prefix":
        deleted = CacheInvalidator.invalidate_by_prefix("product:")
    else:
        deleted = valkey.delete_pattern("product:*")  # type: ignore[attr-defined]
    took = time.perf_counter() - began
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps({"deleted": deleted, "seconds": took, "peak_growth_kib": grown_kib}))


def survivors(nodes: list[redis.Redis]) -> dict[str, int]:
    def count(pattern: str) -> int:
        return sum(1 for node in nodes for _ in node.scan_iter(match=pattern, count=10_000))

    return {
        "left_under_prefix": count(f"{SITE}product:*"),
        "others_left": count(f"{SITE}category:*") + count("neighbour:1:product:*"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1_000_000, help="keys under the prefix")
    parser.add_argument("--others", type=int, default=200_000, help="keys that must survive")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        delete(args.url, args.child)
        return

    with RedisClusterServer(3, 0) as cluster:
        renice(cluster)
        nodes = primaries(cluster)
        slot_owner = owners(cluster)
        value = b"\x80\x05" + b"x" * 40  # about the size of a small pickled row

        def refill() -> float:
            cluster.flush()
            began = time.perf_counter()
            fill(nodes, slot_owner, f"{SITE}product:", args.keys, value)
            fill(nodes, slot_owner, f"{SITE}category:", args.others // 2, value)
            fill(nodes, slot_owner, "neighbour:1:product:", args.others - args.others // 2, value)
            return time.perf_counter() - began

        seconds: dict[str, list[float]] = {name: [] for name in CONTENDERS}
        longest_us: dict[str, list[int]] = {name: [] for name in CONTENDERS}
        memory_kib: dict[str, list[int]] = {name: [] for name in CONTENDERS}
        for round_no in range(args.rounds):
            order = CONTENDERS if round_no % 2 == 0 else CONTENDERS[::-1]
            for name in order:
                fill_seconds = refill()
                assert dbsize(nodes) == args.keys + args.others
                with ExitStack() as stack:
                    watches = [
                        stack.enter_context(Watch(node, f"redis://127.0.0.1:{port}/0", COMMANDS))
                        for node, port in zip(
                            nodes, [n.port for n in cluster.primaries()], strict=True
                        )
                    ]
                    found = subprocess.run(
                        [sys.executable, __file__, "--child", name, "--url", cluster.url],
                        check=True,
                        capture_output=True,
                        text=True,
                        cwd=ROOT / "bench",
                    )
                result = json.loads(found.stdout.splitlines()[-1])
                left = survivors(nodes)
                assert result["deleted"] == args.keys and left["left_under_prefix"] == 0, left
                assert left["others_left"] == args.others, (name, left)
                # The longest command on any node: SLOWLOG's (µs) or LATENCY's (ms, EXEC too).
                per_node = [
                    max(w.slowlog_max_us, 1000 * w.latency.get("command", 0)) for w in watches
                ]
                seconds[name].append(result["seconds"])
                longest_us[name].append(max(per_node))
                memory_kib[name].append(result["peak_growth_kib"])
                emit(
                    "cluster_prefix_invalidation",
                    round=round_no,
                    contender=name,
                    keys=args.keys,
                    others=args.others,
                    deleted=result["deleted"],
                    seconds=round(result["seconds"], 3),
                    keys_per_second=round(result["deleted"] / result["seconds"]),
                    longest_command_us_per_node=per_node,
                    slowlog_max_command_per_node=[w.slowlog_max_command for w in watches],
                    mean_us_per_call_per_node=[w.per_call_us for w in watches],
                    ping_max_ms_per_node=[w.pings["max_ms"] for w in watches],
                    host_stall_ms_per_node=[w.latency.get("fast-command", 0) for w in watches],
                    client_peak_growth_mib=round(result["peak_growth_kib"] / 1024, 1),
                    **left,
                    fill_seconds=round(fill_seconds, 1),
                )

        toolkit = seconds["invalidate_by_prefix"]
        speedups = [b / t for b, t in zip(seconds["delete_pattern"], toolkit, strict=True)]
        info = nodes[0].info("server")
        emit(
            "cluster_prefix_invalidation_summary",
            rounds=args.rounds,
            keys=args.keys,
            keys_per_second={
                name: spread([args.keys / s for s in seconds[name]], 0) for name in CONTENDERS
            },
            speedup_vs_delete_pattern=spread(speedups, 2),
            longest_command_us={name: spread(longest_us[name], 0) for name in CONTENDERS},
            client_peak_growth_mib={
                name: spread([k / 1024 for k in memory_kib[name]], 1) for name in CONTENDERS
            },
            primaries=len(nodes),
            python=sys.version.split()[0],
            redis_py=redis.__version__,
            redis_server=info.get("redis_version"),
            redis_nice=default_nice(),
            cpus=os.cpu_count(),
        )
        for node in nodes:
            node.close()


if __name__ == "__main__":
    main()
