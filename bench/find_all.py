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
from collections.abc import Callable

from _common import (
    client,
    configure,
    emit,
    environment,
    median,
    populate,
    ratio_spread,
    start_redis,
    take_turns,
)

RARE = 9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    with start_redis() as server:
        configure(server)
        from cache_admin import stored_keys
        from cache_admin.conf import conf
        from cache_admin.keyspace import find_all

        r = client(server)
        emit("environment", **environment(r), keys=args.keys, rounds=args.rounds)
        site = stored_keys.site_prefix()
        populate(r, site + "product:", args.keys - RARE)
        # Spread through the keyspace's hash table: any SCAN order meets them far apart.
        for n in range(RARE):
            r.set(f"{site}rare:{n}", b"v")
        match = stored_keys.glob_escape(site + "rare:") + "*"
        count = int(conf.SCAN_COUNT)

        def bare_scan() -> int:
            return len(set(r.scan_iter(match=match, count=count)))

        def one_click() -> int:
            job_id = find_all.start("rare:")
            assert find_all.join(job_id, 600)
            status = find_all.status(job_id)
            assert status is not None and status.state == find_all.DONE
            return status.found

        def finds_all(search: Callable[[], int]) -> Callable[[], None]:
            def run() -> None:
                assert search() == RARE

            return run

        baseline, ours = "bare SCAN (baseline)", "find_all job"
        # One call per round, the order turning from round to round (bench/_common.py).
        samples = take_turns(
            {baseline: finds_all(bare_scan), ours: finds_all(one_click)}, 1, args.rounds
        )
        for name, values in samples.items():
            seconds = [v / 1e6 for v in values]
            emit(
                "find_all",
                contender=name,
                keys=args.keys,
                found=RARE,
                median_s=round(median(seconds), 3),
                min_s=round(min(seconds), 3),
                max_s=round(max(seconds), 3),
            )
        emit(
            "find_all_ratio",
            ratio_of_medians=round(median(samples[ours]) / median(samples[baseline]), 2),
            **ratio_spread(samples[ours], samples[baseline]),
            target="<= 2",
        )


if __name__ == "__main__":
    main()
