"""What one call costs on a Redis Cluster whose node of the key is down or hung: the cluster
backends' retry (one more attempt after a topology refresh) vs redis-py's default (ten
retries with a backoff of up to a second), same cluster, same 0.3 s socket timeouts.

Each round, for each contender in turn: a fresh ``RedisCluster``, the node of the key is
killed (connection refused) or paused (SIGSTOP: it accepts and never answers), ``--calls``
GETs of the key are timed, the node comes back. The breaker is not involved: this is what
each call pays until it opens (and what the breaker's probe pays).

    python bench/cluster_outage_calls.py [--rounds 3] [--calls 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from typing import Any

import redis
from _common import emit, median
from redis.cluster import RedisCluster

from cache_admin.backends.cluster import retry
from cache_admin.testing import RedisClusterServer

TIMEOUT = 0.3


def contenders() -> dict[str, dict[str, Any]]:
    return {"redis-py default retry": {}, "package retry": {"retry": retry()}}


def timed_calls(
    cluster: RedisClusterServer, options: dict[str, Any], how: str, calls: int
) -> list[float]:
    client = RedisCluster.from_url(
        cluster.url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT, **options
    )
    try:
        client.set("product:1", "x")
        port = client.get_node_from_key("product:1").port
        node = next(node for node in cluster.nodes if node.port == port)
        node.kill() if how == "refused" else node.pause()
        took = []
        for _ in range(calls):
            started = time.perf_counter()
            with contextlib.suppress(redis.exceptions.RedisError):
                client.get("product:1")
            took.append(time.perf_counter() - started)
        if how == "refused":
            node.start()
        else:
            node.resume()
        cluster.wait_until_ready()
        return took
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    # A node stopped for a few seconds is not declared failed: nothing fails over.
    with RedisClusterServer(3, 0, node_timeout_ms=60_000) as cluster:
        samples: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for how in ("refused", "hung"):
                for name, options in contenders().items():
                    took = timed_calls(cluster, options, how, args.calls)
                    samples.setdefault((how, name), []).extend(took)
        for (how, name), took in samples.items():
            emit(
                "cluster_call_on_a_down_node",
                node=how,
                contender=name,
                calls=len(took),
                median_s=round(median(took), 3),
                min_s=round(min(took), 3),
                max_s=round(max(took), 3),
            )
        emit(
            "cluster_outage_calls_setup",
            redis_py=redis.__version__,
            socket_timeout=TIMEOUT,
            primaries=3,
            cpus=os.cpu_count(),
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
