"""Page latency of the demo shop before and while its Redis hangs, and how soon hits resume.

The demo's web server runs with its own settings (the package's django-redis backend with
0.25 s timeouts, the package's session engine) on a private Redis; threads browse it as
anonymous visitors, a signed-in shopper and a signed-in staff member (the traffic of
``tests/test_demo_outage.py``). Each cycle: ``--before`` seconds with Redis up, then
``--hang`` seconds with Redis stopped by SIGSTOP (it accepts connections and answers
nothing), then SIGCONT. The baseline is the same run's own traffic before the hang.

Latencies are the server's (``Server-Timing``, written by the demo's first middleware)
and the client's, p50 / p95 / max over every page; "recovery" is the time from SIGCONT to
the first request of a warm product page that runs no more queries than a hit does.

    python bench/outage_latency.py [--cycles 3] [--before 8] [--hang 12] [--products 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import default_nice, emit, start_redis

# _common put the repository on sys.path: the outage tests' traffic is reused as it is.
from tests.demo_support import Browser, demo_environment, manage, web_server
from tests.demo_traffic import (
    Traffic,
    create_staff,
    latency,
    queries,
    storefront_paths,
    visitors,
)


def recovery(web_url: str, path: str, hit: int, since: float) -> float:
    probe = Browser(web_url)
    while time.monotonic() < since + 30:
        sent = time.monotonic()
        if queries(probe.open(path)) <= hit:
            return sent - since
        time.sleep(0.05)
    return float("nan")


def spread(values: list[float], digits: int = 1) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--before", type=float, default=8.0, help="seconds of traffic before")
    parser.add_argument("--hang", type=float, default=12.0, help="seconds of SIGSTOP")
    parser.add_argument("--products", type=int, default=200)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="cache-admin-bench-outage-"))
    with start_redis() as redis_server:
        env = demo_environment(redis_server.url, var)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed", "--products", str(args.products))
        create_staff(env, "staff")
        with web_server(env, var / "web.log") as web:
            paths = storefront_paths(web)
            detail = paths[3]
            probe = Browser(web.url)
            hit = min(queries(probe.open(detail)) for _ in range(3))
            rows: dict[str, list[float]] = {}
            for cycle in range(args.cycles):
                with Traffic(visitors(web, paths)) as traffic:
                    started = time.monotonic()
                    time.sleep(args.before)  # measuring for this long
                    hung_at = time.monotonic()
                    redis_server.pause()
                    time.sleep(args.hang)
                    answered_at = time.monotonic()
                    redis_server.resume()
                    recovered = recovery(web.url, detail, hit, answered_at)
                    time.sleep(1.0)
                windows = {
                    "before": traffic.between(started, hung_at),
                    "hung": traffic.between(hung_at, answered_at),
                }
                failed = sum(1 for v in traffic.visits if v.status >= 500 or v.status == 0)
                signed_out = sum(1 for v in traffic.visits if v.signed_in is False)
                record: dict[str, Any] = {"cycle": cycle + 1}
                for name, visits in windows.items():
                    for side in ("server", "client"):
                        figures = latency(visits, server=side == "server")
                        for stat in ("p50", "p95", "max"):
                            key = f"{name}_{side}_{stat}_ms"
                            record[key] = round(figures[stat], 1)
                            rows.setdefault(key, []).append(figures[stat])
                        record[f"{name}_requests"] = figures["n"]
                record.update(
                    recovery_s=round(recovered, 3),
                    errors_5xx_or_unanswered=failed,
                    signed_out=signed_out,
                )
                rows.setdefault("recovery_s", []).append(recovered)
                emit("outage_latency", **record)
            emit(
                "outage_latency_summary",
                **{key: spread(values) for key, values in rows.items() if key != "recovery_s"},
                recovery_s=spread(rows["recovery_s"], 3),
                cycles=args.cycles,
                hang_s=args.hang,
                products=args.products,
                redis_nice=default_nice(),
            )


if __name__ == "__main__":
    main()
