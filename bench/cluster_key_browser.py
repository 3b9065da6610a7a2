"""Key browser on a 3-primary Redis Cluster: one key page at 10,000 vs 1,000,000 keys across
the nodes, and whether the one rare key is found.

Each size has a cluster of its own (a cache alias each, ``RedisClusterCache``; the console
follows ``CACHE_ALIAS``), so every round measures every contender on every size in turn,
the order turning from round to round (bench/_common.py ``take_turns``): the ratio between
sizes compares figures taken side by side. Contenders: the toolkit's ``scan_page`` and a
whole console request through Django's test client, for a dense prefix (``product:``, every
key matches) and a rare one (``rare:``, one key in the whole keyspace); the baseline is the
servers' own floor, bare SCANs of a page's budget on each primary. Medians with their
spread (min-max over the rounds); SCAN commands per call summed over the primaries.

    python bench/cluster_key_browser.py [--sizes 10000 1000000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import redis
from _cluster import cluster_cache, fill, owners, primaries, renice
from _common import emit, median, ratio_spread, take_turns
from key_browser import PAGE, SITE, _rare_found, admin_client, configure, on_alias, scan_rare

from cache_admin.testing import RedisClusterServer

VALUE = b"\x80\x05K\x01."


def alias_of(size: int, sizes: list[int]) -> str:
    return "default" if size == sizes[0] else f"keys{size}"


def scan_calls(nodes: list[redis.Redis]) -> int:
    stats = [node.info("commandstats").get("cmdstat_scan", {}) for node in nodes]
    return sum(int(row.get("calls", 0)) for row in stats)


def bare_scans(nodes: list[redis.Redis]) -> Callable[[], int]:
    """The servers' own floor: on each primary, bare SCANs of its share of 10,000 keys (a
    page's CONSOLE_SCAN_BUDGET)."""
    return lambda: sum(scan_rare(node, 10_000 // len(nodes)) for node in nodes)


def contenders(client: Any, alias: str, nodes: list[redis.Redis]) -> dict[str, Callable[[], Any]]:
    from django.urls import reverse

    from cache_admin import keyspace

    keys_url = reverse("admin:cache_admin_keys")

    def get(**query: Any) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(keys_url, query)
            assert response.status_code == 200, response.status_code
            return response

        return call

    ours: dict[str, Callable[[], Any]] = {
        "toolkit scan_page product:": lambda: keyspace.scan_page("product:", page_size=PAGE),
        "toolkit scan_page rare:": lambda: keyspace.scan_page("rare:", page_size=PAGE),
        "console request product:": get(prefix="product:", page_size=PAGE),
        "console request rare:": get(prefix="rare:", page_size=PAGE),
    }
    found = {name: on_alias(alias, call) for name, call in ours.items()}
    found["baseline: bare SCANs of 10,000 keys, MATCH rare:*"] = bare_scans(nodes)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    sizes = sorted(args.sizes)

    with ExitStack() as stack:
        clusters = {size: stack.enter_context(RedisClusterServer(3, 0)) for size in sizes}
        nodes = {}
        for size, cluster in clusters.items():
            renice(cluster)
            nodes[size] = primaries(cluster)
            slot_owner = owners(cluster)
            fill(nodes[size], slot_owner, f"{SITE}product:", size - 1, VALUE)
            fill(nodes[size], slot_owner, f"{SITE}rare:needle", 1, VALUE)  # "...needle0"
        configure(
            clusters[sizes[0]].url,
            {
                alias_of(size, sizes): cluster_cache(c.url, timeout=60)
                for size, c in clusters.items()
            },
        )
        http = admin_client()
        calls = {size: contenders(http, alias_of(size, sizes), nodes[size]) for size in sizes}
        for by_name in calls.values():  # warm-up: connections, slot maps, templates
            for call in by_name.values():
                call()
        names = list(calls[sizes[0]])
        turns = take_turns(
            {f"{size} {name}": calls[size][name] for name in names for size in sizes},
            1,
            args.rounds,
        )
        for size in sizes:
            for name in names:
                before = scan_calls(nodes[size])
                calls[size][name]()
                values = [v / 1000 for v in turns[f"{size} {name}"]]
                emit(
                    "cluster_key_page",
                    keys=size,
                    contender=name,
                    median_ms=round(median(values), 2),
                    min_ms=round(min(values), 2),
                    max_ms=round(max(values), 2),
                    scan_calls=scan_calls(nodes[size]) - before,
                )
            found = on_alias(alias_of(size, sizes), lambda: _rare_found(0))()
            emit("cluster_rare_key", keys=size, **found)
        low, high = sizes[0], sizes[-1]
        for name in names:
            emit(
                "cluster_key_page_ratio",
                contender=name,
                keys=f"{high} vs {low}",
                **ratio_spread(turns[f"{high} {name}"], turns[f"{low} {name}"]),
                target="baseline" if name.startswith("baseline") else "<= 1.5",
                rounds=args.rounds,
            )
        info = nodes[low][0].info("server")
        emit(
            "cluster_key_browser_setup",
            primaries=len(nodes[low]),
            python=sys.version.split()[0],
            redis_py=redis.__version__,
            redis_server=info.get("redis_version"),
        )


if __name__ == "__main__":
    main()
