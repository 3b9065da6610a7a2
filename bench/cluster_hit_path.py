"""Hit path on a 3-primary Redis Cluster: a ``cache_result`` hit vs the cluster client's own
``cache.get`` of the same entry, on both of the package's cluster backends, in the same run.

``cache_admin.backends.cluster.RedisClusterCache`` and the django-redis flavour
(``cache_admin.backends.django_redis.RedisCache`` with ``ClusterClient``), each the
``CACHE_ALIAS`` of its own Django process (the decorator reads through that alias). In each
process the two contenders take turns call by call, each call timed on its own; a round's
figure per contender is its median call, the order flips from round to round; the ratio is
reported per round (median and spread over the rounds).

    python bench/cluster_hit_path.py [--calls 3000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

from _cluster import renice
from _common import ROOT, VALUE, default_nice, emit, ratio_spread, take_turns

from cache_admin.testing import RedisClusterServer

SOCKETS = {"socket_connect_timeout": 5, "socket_timeout": 5}
BACKENDS: dict[str, dict[str, Any]] = {
    "RedisClusterCache": {
        "BACKEND": "cache_admin.backends.cluster.RedisClusterCache",
        "OPTIONS": SOCKETS,
    },
    "django-redis ClusterClient": {
        "BACKEND": "cache_admin.backends.django_redis.RedisCache",
        "OPTIONS": {
            "CLIENT_CLASS": "cache_admin.backends.cluster.ClusterClient",
            "SOCKET_CONNECT_TIMEOUT": 5,
            "SOCKET_TIMEOUT": 5,
        },
    },
}


def measure(url: str, backend: str, calls: int, rounds: int) -> None:
    """In a process of its own: Django configured with ``backend`` as the cache alias."""
    from _common import configure

    alias = {"cluster": {**BACKENDS[backend], "LOCATION": url, "KEY_PREFIX": "bench"}}
    settings = {"CACHE_ALIAS": "cluster", "HISTORY_SAMPLING": False}
    configure(
        SimpleNamespace(url=url),  # type: ignore[arg-type]
        {"user_profile": {"prefix": "user_profile:", "ttl": 600}},
        settings,
        alias,
    )
    from django.core.cache import caches

    from cache_admin import cache_result

    cache = caches["cluster"]

    @cache_result(timeout=600, key_prefix="user_profile")
    def profile(user_id: int) -> dict[str, Any]:
        return VALUE

    assert profile(42) == VALUE and profile(42) == VALUE
    # The very entry the decorator reads: the same node, the same bytes.
    key = profile.key_for(42)
    assert cache.get(key) is not None
    per_round = take_turns(
        {"cache.get": lambda: cache.get(key), "cache_result": lambda: profile(42)},
        calls,
        rounds,
    )
    print(json.dumps(per_round), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000, help="calls per contender per round")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.url, args.child, args.calls, args.rounds)
        return

    with RedisClusterServer(3, 0) as cluster:
        import redis

        renice(cluster)

        for backend in BACKENDS:
            sizes = ["--calls", str(args.calls), "--rounds", str(args.rounds)]
            found = subprocess.run(
                [sys.executable, __file__, "--child", backend, "--url", cluster.url, *sizes],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT / "bench",
            )
            per_round: dict[str, list[float]] = json.loads(found.stdout.splitlines()[-1])
            for name, rounds in per_round.items():
                emit(
                    "cluster_hit_path",
                    backend=backend,
                    contender=name,
                    median_us=round(statistics.median(rounds), 2),
                    min_round_us=round(min(rounds), 2),
                    max_round_us=round(max(rounds), 2),
                )
            spread = ratio_spread(per_round["cache_result"], per_round["cache.get"])
            emit(
                "cluster_hit_path_summary",
                backend=backend,
                **{f"cache_result_vs_cache_get_{k}": v for k, v in spread.items()},
                target="<= 1.05",
                rounds=args.rounds,
                calls_per_round=args.calls,
            )
        node = redis.Redis(port=cluster.primaries()[0].port)
        emit(
            "cluster_hit_path_setup",
            python=sys.version.split()[0],
            redis_py=redis.__version__,
            redis_server=node.info("server").get("redis_version"),
            primaries=len(cluster.primaries()),
            redis_nice=default_nice(),
            cpus=os.cpu_count(),
        )
        node.close()


if __name__ == "__main__":
    main()
