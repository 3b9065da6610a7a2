"""What the package writes often, per node of a 3-primary Redis Cluster: no hot slot.

``--processes`` worker processes (default 12) each record hits and misses of the demo's
seven cache types and flush their counters ``--flushes`` times (each flush is what a
process sends once a second), and hold the TTL policy subscription every process holds.
Redis's own counters on each primary say where the writes and the subscriptions landed.
The baseline of the same run is the same processes writing as on one server (every
flush into the one pair of hashes, ``cache_admin:stats:<minute>`` and ``...:total``) and
subscribing through the cluster client's own ``pubsub()`` (the channel's slot picks the
node). Rounds alternate baseline and package.

    python bench/cluster_slots.py [--processes 12] [--flushes 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from _cluster import cluster_cache
from _common import ROOT, emit, median

from cache_admin.testing import RedisClusterServer

TYPES = {
    "product_list": {"prefix": "product:list:", "ttl": 300},
    "product_detail": {"prefix": "product:", "ttl": 900},
    "category": {"prefix": "category:", "ttl": 3600},
    "user_session": {"prefix": "session:", "ttl": 1800},
    "search_results": {"prefix": "search:", "ttl": 600},
    "recommendations": {"prefix": "template.cache.recommendations.", "ttl": 3600},
    "cart": {"prefix": "cart:", "ttl": 1800},
}

CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1] + "/bench")
from types import SimpleNamespace
from cluster_slots import TYPES, cluster_cache
from _common import configure
root, url, db, mode, flushes = sys.argv[1:6]
configure(SimpleNamespace(url=url), TYPES, {"CACHE_ALIAS": "cluster",
          "STATS_FLUSH_INTERVAL": 3600}, {"cluster": cluster_cache(url)}, database=db)
from cache_admin import backend, counter_flush, counters, policy_channel
if mode == "one-hash":  # as on one server: every process into the same two hashes
    counter_flush.next_shard = lambda sharded: None
    subscription = backend.client().pubsub()
else:
    subscription = backend.subscriber()
subscription.subscribe(policy_channel.channel())
print("ready", flush=True)
sys.stdin.readline()
took = []
for _ in range(int(flushes)):
    for n, name in enumerate(TYPES):
        counters.record(name, "hits", 50 // (n + 1))
        counters.record(name, "misses", n + 1)
    started = time.perf_counter()
    assert counters.flush()
    took.append(time.perf_counter() - started)
took.sort()
print(took[len(took) // 2], flush=True)
sys.stdin.readline()
"""

MODES = ("one-hash", "package")


def primaries(cluster: RedisClusterServer) -> list[redis.Redis]:
    return [redis.Redis(port=node.port) for node in cluster.primaries()]


def hincrbys(nodes: list[redis.Redis]) -> list[int]:
    found = []
    for node in nodes:
        row = node.info("commandstats").get("cmdstat_hincrby", {})
        found.append(int(row.get("calls", 0)))
    return found


def subscribers(nodes: list[redis.Redis], channel: str) -> list[int]:
    return [int(dict(node.pubsub_numsub(channel))[channel.encode()]) for node in nodes]


@contextmanager
def workers(args: argparse.Namespace, url: str, db: str, mode: str) -> Iterator[list[Any]]:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(ROOT), url, db, mode, str(args.flushes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT / "bench",
        )
        for _ in range(args.processes)
    ]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
        yield children
    finally:
        for child in children:
            child.stdin.close()  # type: ignore[union-attr]
        for child in children:
            child.wait(30)


def say(children: list[Any]) -> None:
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=12)
    parser.add_argument("--flushes", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with RedisClusterServer(3, 0) as cluster:
        from types import SimpleNamespace

        from _common import configure

        db = configure(
            SimpleNamespace(url=cluster.url),  # type: ignore[arg-type]
            TYPES,
            {"CACHE_ALIAS": "cluster"},
            {"cluster": cluster_cache(cluster.url)},
        )
        from cache_admin import policy_channel

        channel = policy_channel.channel()
        nodes = primaries(cluster)
        flush_ms: dict[str, list[float]] = {mode: [] for mode in MODES}
        for round_ in range(args.rounds):
            for mode in MODES:
                cluster.flush()
                with workers(args, cluster.url, db, mode) as children:
                    subscribed = subscribers(nodes, channel)
                    before = hincrbys(nodes)
                    started = time.perf_counter()
                    say(children)
                    medians = [float(child.stdout.readline()) for child in children]
                    seconds = time.perf_counter() - started
                    writes = [b - a for a, b in zip(before, hincrbys(nodes), strict=True)]
                    say(children)
                flush_ms[mode] += [m * 1000 for m in medians]
                emit(
                    "cluster_counter_writes",
                    round=round_,
                    mode=mode,
                    processes=args.processes,
                    flushes=args.flushes,
                    hincrby_per_primary=writes,
                    busiest_primary_share=round(max(writes) / sum(writes), 3),
                    subscribers_per_primary=subscribed,
                    flush_median_ms=round(median(medians) * 1000, 3),
                    seconds=round(seconds, 2),
                )
        for mode in MODES:
            samples = sorted(flush_ms[mode])
            emit(
                "cluster_flush_time",
                mode=mode,
                median_ms=round(median(samples), 3),
                min_ms=round(samples[0], 3),
                max_ms=round(samples[-1], 3),
            )
        info = nodes[0].info("server")
        emit(
            "cluster_slots_setup",
            python=sys.version.split()[0],
            redis_py=redis.__version__,
            redis_server=info.get("redis_version"),
            primaries=len(nodes),
            cpus=os.cpu_count(),
        )
        for node in nodes:
            node.close()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
