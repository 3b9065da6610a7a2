"""TTL policy: what idle processes cost Redis, and how fast an override reaches them.

``--processes`` processes (default 4) each look a TTL up (which starts their policy thread)
and then stay idle for ``--seconds``. Redis's own counters say what they sent meanwhile:
commands, writes (INFO ``rdb_changes_since_last_save``: what replicas and the AOF receive)
and keyspace lookups (INFO ``keyspace_hits`` + ``keyspace_misses``, the input of the
server hit rate the dashboard shows). The baseline of the same run is the same Redis with
no process at all for as long. Then this process saves an override ``--changes`` times
and each child reports how long after the save its ``ttl_for()`` returned the new value
(``time.monotonic()`` is one clock for every process of the machine).

    python bench/policy_idle.py [--processes 4] [--seconds 10] [--changes 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any

from _common import ROOT, client, configure, emit, environment, median, start_redis

CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1] + "/bench")
from types import SimpleNamespace
from _common import configure
configure(SimpleNamespace(url=sys.argv[2]), {"cart": {"prefix": "cart:", "ttl": 1800}},
          database=sys.argv[3])
from cache_admin.policy import ttl_for
ttl_for("cart")
print("ready", flush=True)
for line in sys.stdin:
    wanted, saved = line.split()  # saved: the saving process's monotonic clock (system-wide)
    deadline = time.monotonic() + 30
    while ttl_for("cart", jitter=False) != int(wanted) and time.monotonic() < deadline:
        time.sleep(0.001)
    print(f"{time.monotonic() - float(saved):.6f}", flush=True)
"""


def counters(r: Any) -> dict[str, int]:
    info = r.info()
    return {
        "commands": int(info["total_commands_processed"]),
        "writes": int(info["rdb_changes_since_last_save"]),
        "lookups": int(info["keyspace_hits"]) + int(info["keyspace_misses"]),
    }


def rates(before: dict[str, int], after: dict[str, int], seconds: float) -> dict[str, float]:
    # INFO itself is a command: the second reading counts the first.
    return {
        f"{name}_per_second": round(
            (after[name] - before[name] - (name == "commands")) / seconds, 2
        )
        for name in before
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--changes", type=int, default=5)
    args = parser.parse_args()

    with start_redis() as server:
        db = configure(server, {"cart": {"prefix": "cart:", "ttl": 1800}})
        from cache_admin.models import TTLOverride

        r = client(server)
        before = counters(r)
        time.sleep(args.seconds)
        emit("policy_idle", processes=0, **rates(before, counters(r), args.seconds))

        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(ROOT), server.url, db],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(args.processes)
        ]
        try:
            for child in children:
                assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            time.sleep(1.0)  # each child's thread is past its start
            before = counters(r)
            time.sleep(args.seconds)
            idle = rates(before, counters(r), args.seconds)
            per_process = {k: round(v / args.processes, 2) for k, v in idle.items()}
            emit("policy_idle", processes=args.processes, **idle, per_process=per_process)

            delays: list[float] = []
            for change in range(args.changes):
                ttl = 100 + change
                saved = time.monotonic()
                TTLOverride.objects.update_or_create(cache_type="cart", defaults={"ttl": ttl})
                for child in children:
                    assert child.stdin is not None and child.stdout is not None
                    child.stdin.write(f"{ttl} {saved}\n")
                    child.stdin.flush()
                delays += [float(child.stdout.readline()) for child in children]  # type: ignore[union-attr]
            emit(
                "policy_change_reaches_processes",
                changes=args.changes,
                processes=args.processes,
                median_ms=round(median(delays) * 1000, 1),
                max_ms=round(max(delays) * 1000, 1),
            )
        finally:
            for child in children:
                if child.stdin is not None:
                    child.stdin.close()
            for child in children:
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        emit("policy_idle_setup", **environment(r), seconds=args.seconds)
        r.close()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
