"""Watching Redis during a benchmark run: the longest time it was busy with one command.

Three views, because each misses something the others see:

- ``LATENCY LATEST`` (``latency-monitor-threshold 1`` ms): includes EXEC of a transaction;
- ``SLOWLOG`` (commands over 1 ms; EXEC itself does not appear there);
- a second client in another process sending PING every millisecond (its worst round trip
  also includes the machine's scheduling delays, so an idle period is measured as well).

INFO commandstats gives the mean time per call of the commands named.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

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

    def __init__(
        self, r: Any, url: str, commands: tuple[str, ...] = ("scan", "unlink", "del", "exec")
    ) -> None:
        self.r = r
        self.url = url
        # The commands whose calls and mean time per call are reported (INFO commandstats).
        self.commands = commands

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
            if name.removeprefix("cmdstat_") in self.commands
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
