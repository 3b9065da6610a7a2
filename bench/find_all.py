"""Find all under a prefix: 9 rare keys among 1,000,000, one click, against a bare SCAN.

One Redis, one run: ``--keys`` keys of the site under ``product:`` with 9 ``rare:<n>`` keys
among them. Two contenders, interleaved over ``--rounds`` rounds on the same keyspace:

- baseline: a bare SCAN of the keyspace from this process (``scan_iter`` with the same
  MATCH pattern and the same COUNT, ``SCAN_COUNT``, 1,000), collecting the matches: the
  least any complete search can do;
- ``keyspace.find_all``: the background search the key browser's "Find all under" button
  starts (its job joined): the same SCANs, plus per batch the progress write that reads
  the cancel flag, an RPUSH of what it found, the lock renewal.

Each round checks both found all 9 keys. The target is a median ratio of at most 2.

    python bench/find_all.py [--keys 1000000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _common import client, configure, emit, environment, median, populate, start_redis

RARE = 9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    with start_redis() as server:
        configure(server)
        from cache_admin import backend
        from cache_admin.conf import conf
        from cache_admin.keyspace import find_all

        r = client(server)
        emit("environment", **environment(r), keys=args.keys, rounds=args.rounds)
        site = backend.site_prefix()
        populate(r, site + "product:", args.keys - RARE)
        # Spread through the keyspace's hash table: any SCAN order meets them far apart.
        for n in range(RARE):
            r.set(f"{site}rare:{n}", b"v")
        match = backend.glob_escape(site + "rare:") + "*"
        count = int(conf.SCAN_COUNT)

        def bare_scan() -> int:
            return len(set(r.scan_iter(match=match, count=count)))

        def one_click() -> int:
            job_id = find_all.start("rare:")
            assert find_all.join(job_id, 600)
            status = find_all.status(job_id)
            assert status is not None and status.state == find_all.DONE
            return status.found

        contenders = {"bare SCAN (baseline)": bare_scan, "find_all job": one_click}
        samples: dict[str, list[float]] = {name: [] for name in contenders}
        ratios = []
        for round_no in range(args.rounds):
            names = list(contenders) if round_no % 2 == 0 else list(contenders)[::-1]
            took: dict[str, float] = {}
            for name in names:
                started = time.perf_counter()
                found = contenders[name]()
                took[name] = time.perf_counter() - started
                assert found == RARE, (name, found)
                samples[name].append(took[name])
            ratios.append(took["find_all job"] / took["bare SCAN (baseline)"])
        for name, values in samples.items():
            emit(
                "find_all",
                contender=name,
                keys=args.keys,
                found=RARE,
                median_s=round(median(values), 3),
                min_s=round(min(values), 3),
                max_s=round(max(values), 3),
            )
        summary: dict[str, Any] = {
            "median_ratio": round(
                median(samples["find_all job"]) / median(samples["bare SCAN (baseline)"]), 2
            ),
            "round_ratios_min": round(min(ratios), 2),
            "round_ratios_max": round(max(ratios), 2),
            "target": "<= 2",
        }
        emit("find_all_ratio", **summary)


if __name__ == "__main__":
    main()
