"""Hit path with the per-request call recorder (the debug-toolbar panel's): this tree's
``fill.fetch`` against the same function as it is at another revision (default ``main``),
loaded side by side in one process, on the same key of the same Redis.

Two phases, each its own interleaved race (contenders take turns call by call, each call
timed on its own, a round's figure per contender is its median call):

- no record open (no toolbar, or a request the toolbar does not show): ``fetch`` against
  the revision's ``fetch``, ``cache.get`` for scale;
- a record open (a request the toolbar shows): ``fetch`` recording its calls, and ``fetch``
  in a context without a record while another request of the process records.

    python bench/recorder_hit_path.py [--calls 5000] [--rounds 10] [--against main]
"""

from __future__ import annotations

import argparse
import contextvars
import importlib.util
import statistics
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from _common import (
    ROOT,
    VALUE,
    configure,
    default_nice,
    emit,
    environment,
    ratio_spread,
    start_redis,
    take_turns,
)

FILL = "cache_admin/caching/fill.py"


def fill_at(revision: str) -> Any:
    """``cache_admin.caching.fill`` as it is at ``revision``, as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{revision}:{FILL}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    spec = importlib.util.spec_from_loader(f"fill_at_{revision}", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__file__ = f"{revision}:{FILL}"
    sys.modules[spec.name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def report(phase: str, per_round: dict[str, list[float]], calls: int) -> None:
    for name, rounds in per_round.items():
        emit(
            "recorder_hit_path",
            phase=phase,
            contender=name,
            median_us=round(statistics.median(rounds), 2),
            min_round_us=round(min(rounds), 2),
            max_round_us=round(max(rounds), 2),
            rounds=len(rounds),
            calls_per_round=calls,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000, help="calls per contender per round")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--against", default="main", help="git revision of the baseline fetch")
    args = parser.parse_args()

    with start_redis() as server:
        configure(server, {"user_profile": {"prefix": "user_profile:", "ttl": 600}})
        from django.core.cache import cache

        from cache_admin.backend import client
        from cache_admin.caching import fill, recorder
        from cache_admin.types import get_type

        baseline = fill_at(args.against)
        profile = get_type("user_profile")

        def compute() -> dict[str, Any]:
            return VALUE

        def slot() -> fill.Slot:  # built per call, as the decorators do
            return fill.Slot("user_profile:42", profile, 600)

        cache.set("user_profile:raw", VALUE, 600)
        assert fill.fetch(slot(), compute) == VALUE
        against = f"fetch@{args.against}"
        quiet: dict[str, Callable[[], Any]] = {
            "cache.get": lambda: cache.get("user_profile:raw"),
            against: lambda: baseline.fetch(slot(), compute),
            "fetch": lambda: fill.fetch(slot(), compute),
        }
        assert recorder.active == 0
        per_round = take_turns(quiet, args.calls, args.rounds)
        report("no record open", per_round, args.calls)
        idle = ratio_spread(per_round["fetch"], per_round[against])
        vs_get = ratio_spread(per_round["fetch"], per_round["cache.get"])

        # A record open in a context of its own (a request the toolbar shows); the other
        # contenders run in a context without one (another request of the same process).
        recording, elsewhere = contextvars.copy_context(), contextvars.copy_context()
        recording.run(recorder.start)
        calls = recording.run(lambda: recorder._calls.get())
        assert calls is not None and recorder.active == 1

        def recorded() -> Any:
            if len(calls) > 10_000:  # a page does not make millions of lookups
                calls.clear()
            return recording.run(fill.fetch, slot(), compute)

        busy: dict[str, Callable[[], Any]] = {
            against: lambda: elsewhere.run(baseline.fetch, slot(), compute),
            "fetch, another request records": lambda: elsewhere.run(fill.fetch, slot(), compute),
            "fetch, recording": recorded,
        }
        per_round = take_turns(busy, args.calls, args.rounds)
        report("a record open", per_round, args.calls)
        emit(
            "recorder_hit_path_summary",
            **{f"idle_vs_{args.against}_{k}": v for k, v in idle.items()},
            **{f"idle_vs_cache_get_{k}": v for k, v in vs_get.items()},
            **{
                f"other_request_records_vs_{args.against}_{k}": v
                for k, v in ratio_spread(
                    per_round["fetch, another request records"], per_round[against]
                ).items()
            },
            **{
                f"recording_vs_{args.against}_{k}": v
                for k, v in ratio_spread(per_round["fetch, recording"], per_round[against]).items()
            },
            against=args.against,
            rounds=args.rounds,
            calls_per_round=args.calls,
            redis_nice=default_nice(),
            **environment(client()),
        )


if __name__ == "__main__":
    main()
