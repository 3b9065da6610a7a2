"""Miss path: a ``cache_result`` miss (trivial body) against a plain ``cache.get`` + ``cache.set``.

Both contenders look up a key that is absent and store a small value under it, through
the same django-redis cache and the same Redis: the baseline with ``cache.get`` (a miss)
then ``cache.set``, the decorated function by being called with an argument it has not
seen. The decorated function keeps C1 on the way (its read takes a lease in the key, its
store is a compare-and-set of that lease). The two take turns call by call, the order
turning from round to round; each call is timed on its own (wall clock and this thread's
CPU time) and a round's figure is its median call. Round trips and commands per miss are
counted on the client and by Redis itself (INFO commandstats).

    python bench/miss_path.py [--calls 2000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import itertools
import threading
from collections.abc import Callable
from typing import Any

from _common import (
    configure,
    default_nice,
    emit,
    environment,
    medians,
    ratios,
    start_redis,
    timed_turns,
)

VALUE = {"id": 42, "name": "ada"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000, help="calls per contender per round")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    with start_redis() as server:
        configure(server, {"user_profile": {"prefix": "user_profile:", "ttl": 600}})
        import redis
        from django.core.cache import cache

        from cache_admin import cache_result, counters
        from cache_admin.backend import client

        raw = client()
        numbers = itertools.count()

        @cache_result(timeout=600, key_prefix="user_profile")
        def profile(user_id: int) -> dict[str, Any]:
            return VALUE

        def plain(user_id: int) -> Any:
            key = f"plain_profile:{user_id}"
            found = cache.get(key)
            if found is None:
                found = VALUE
                cache.set(key, found, 600)
            return found

        assert profile(next(numbers)) == VALUE and plain(next(numbers)) == VALUE
        contenders: dict[str, Callable[[int], Any]] = {
            "cache.get + cache.set": plain,
            "cache_result miss": profile,
        }

        # Round trips (client side) and commands (server side) of one miss each.
        sent: list[int] = []
        connection = redis.connection.AbstractConnection
        send = connection.send_packed_command

        def counted(self: Any, *a: Any, **k: Any) -> Any:
            if threading.current_thread() is threading.main_thread():
                sent.append(1)
            return send(self, *a, **k)

        per_miss: dict[str, tuple[float, float]] = {}
        for name, call in contenders.items():
            counters.flush()
            before = sum(v["calls"] for v in raw.info("commandstats").values())
            connection.send_packed_command = counted  # type: ignore[method-assign]
            try:
                for _ in range(100):
                    call(next(numbers))
            finally:
                connection.send_packed_command = send  # type: ignore[method-assign]
            after = sum(v["calls"] for v in raw.info("commandstats").values())
            per_miss[name] = (len(sent) / 100, (after - before - 1) / 100)  # minus one INFO
            sent.clear()

        names = list(contenders)
        fresh = {name: (lambda: next(numbers)) for name in contenders}  # an unseen argument
        rounds = timed_turns(contenders, args.calls, args.rounds, prepare=fresh, cpu=True)
        for name in names:
            emit(
                "miss_path",
                contender=name,
                **medians(rounds, name),
                round_trips_per_miss=per_miss[name][0],
                commands_per_miss=per_miss[name][1],
                calls=args.calls * args.rounds,
            )
        summary = ratios(rounds, names[1], names[0], "miss_vs_get_set")
        emit(
            "miss_path_summary",
            **summary,
            target="<= 1.30",
            calls=args.calls,
            rounds=args.rounds,
            redis_nice=default_nice(),
            **environment(raw),
        )


if __name__ == "__main__":
    main()
