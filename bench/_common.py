"""Shared set-up for the benchmarks: a private Redis, Django configured in-process, JSON output.

Each script prints one JSON object per measurement on stdout and compares against a
baseline measured in the same run, because absolute times on a shared machine are noise.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cache_admin.testing import RedisServer  # noqa: E402
from cache_admin.testing import populate as populate  # noqa: E402  (for the scripts)

KEY_PREFIX = "bench"
# What the hit-path scripts read: a user profile of about 300 bytes pickled.
VALUE = {
    "id": 42,
    "username": "ada",
    "email": "ada@example.com",
    "profile": {"bio": "x" * 200, "tags": ["a", "b", "c"], "score": 3.5},
}


def default_nice() -> int:
    return -10 if hasattr(os, "geteuid") and os.geteuid() == 0 else 0


def start_redis(nice: int | None = None) -> RedisServer:
    """A private Redis; run as root, at a raised scheduling priority (``nice``, default -10).

    A dedicated Redis host has a CPU to itself; on a busy shared machine Redis is otherwise
    taken off the CPU in the middle of commands, and the figures would measure the host.
    """
    server = RedisServer().start()
    nice = default_nice() if nice is None else nice
    if nice and server.process is not None:
        os.setpriority(os.PRIO_PROCESS, server.process.pid, nice)
    return server


def configure(
    server: RedisServer,
    types: dict[str, dict[str, Any]] | None = None,
    settings: dict[str, Any] | None = None,
    caches: dict[str, dict[str, Any]] | None = None,
    *,
    database: str | None = None,
) -> str:
    """Configure Django on ``server``; answer the SQLite database's path. ``database``: one
    that another process of the same run made already (no migration then). ``caches``: more
    CACHES aliases beside "default"."""
    import django
    from django.conf import settings as django_settings
    from django.core.management import call_command

    db = database or os.path.join(tempfile.mkdtemp(prefix="cache-admin-bench-"), "db.sqlite3")
    django_settings.configure(
        SECRET_KEY="bench-only",
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "cache_admin",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db}},
        CACHES={
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"{server.url}/0",
                "KEY_PREFIX": KEY_PREFIX,
                "TIMEOUT": 600,
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 5, "SOCKET_TIMEOUT": 60},
            },
            **(caches or {}),
        },
        CACHE_ADMIN={
            "CACHE_ALIAS": "default",
            "ADMIN_SITE": None,
            "TYPES": types or {},
            **(settings or {}),
        },
    )
    django.setup()
    if database is None:
        call_command("migrate", verbosity=0)
    return db


def client(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(f"{server.url}/0")


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    """Seconds per call, ``repeat`` samples."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def per_call(loop: Callable[[int], Any], calls: int) -> tuple[float, float]:
    """Seconds per call of a loop of ``calls`` calls: wall clock, and this process's CPU.

    CPU time leaves out the wait for Redis and the time other processes hold the CPU, so
    it shows the client-side cost of each contender even on a busy machine.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    loop(calls)
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


# Per round, each contender's median call in microseconds: wall clock and this thread's CPU
# time (the client's cost, without the wait for Redis); CPU is 0.0 unless asked for.
Rounds = list[dict[str, tuple[float, float]]]


def timed_turns(
    contenders: Mapping[str, Callable[..., Any]],
    calls: int,
    rounds: int,
    prepare: dict[str, Callable[[], Any]] | None = None,
    cpu: bool = False,
) -> Rounds:
    """Per round, each contender's median call, wall clock (and with ``cpu`` this thread's
    CPU time too).

    The contenders take turns call by call and each call is timed on its own, so they share
    the machine's load; the median leaves out the calls during which the process was
    descheduled. Each call warms the CPU's caches for the next one, which favours whichever
    contender follows its twin: the order turns and flips from round to round. With
    ``prepare``, a contender is called with ``prepare[name]()``, made off the clock just
    before it (a fresh queryset per call, as a view builds one per request).
    """
    names = list(contenders)
    functions = [contenders[name] for name in names]
    makers = [prepare[name] for name in names] if prepare is not None else None
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for _ in range(calls // 5):  # warm-up
        for i, function in enumerate(functions):
            if makers is not None:
                function(makers[i]())
            else:
                function()
    found: Rounds = []
    for round_no in range(rounds):
        shift = (round_no // 2) % len(names)
        order = list(range(shift, len(names))) + list(range(shift))
        if round_no % 2:
            order.reverse()
        walls: list[list[int]] = [[] for _ in names]
        cpus: list[list[int]] = [[] for _ in names]
        for _ in range(calls):
            for i in order:
                argument = makers[i]() if makers is not None else None
                began_cpu = cpu_clock() if cpu else 0
                began = clock()
                if makers is not None:
                    functions[i](argument)
                else:
                    functions[i]()
                spent = clock() - began
                if cpu:
                    cpus[i].append(cpu_clock() - began_cpu)
                walls[i].append(spent)
        found.append(
            {
                name: (median(walls[i]) / 1000, median(cpus[i]) / 1000 if cpu else 0.0)
                for i, name in enumerate(names)
            }
        )
    return found


def take_turns(
    contenders: dict[str, Callable[[], Any]], calls: int, rounds: int
) -> dict[str, list[float]]:
    """Per contender, its median call in microseconds (wall clock) for each round
    (``timed_turns``)."""
    found = timed_turns(contenders, calls, rounds)
    return {name: [r[name][0] for r in found] for name in contenders}


def ratio_spread(a: list[float], b: list[float]) -> dict[str, float]:
    """Round by round ratios of ``a`` to ``b``: median, min and max."""
    ratios = [x / y for x, y in zip(a, b, strict=True)]
    return {
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
    }


def ratios(rounds: Rounds, name: str, base: str, label: str) -> dict[str, Any]:
    """``name`` over ``base`` per round, wall and CPU: the median and the range."""
    found: dict[str, Any] = {}
    for index, clock in ((0, "wall"), (1, "cpu")):
        per_round = sorted(r[name][index] / r[base][index] for r in rounds)
        found[f"{label}_{clock}"] = round(median(per_round), 3)
        found[f"{label}_{clock}_range"] = [round(per_round[0], 3), round(per_round[-1], 3)]
    return found


def medians(rounds: Rounds, name: str) -> dict[str, float]:
    return {
        "median_wall_us": round(median(r[name][0] for r in rounds), 2),
        "median_cpu_us": round(median(r[name][1] for r in rounds), 2),
    }


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def emit(benchmark: str, **fields: Any) -> None:
    record = {"benchmark": benchmark, **fields}
    print(json.dumps(record, sort_keys=False), flush=True)


def environment(r: redis.Redis) -> dict[str, Any]:
    import django
    import django_redis

    r_version = r.info("server").get("redis_version", "?")
    return {
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "django_redis": ".".join(map(str, django_redis.VERSION)),
        "redis_py": redis.__version__,
        "redis_server": r_version,
        "cpus": os.cpu_count(),
    }
