"""Hit path of the package's cache backends vs the backends they wrap: ``cache.get`` of the
same value from the same Redis, through each of the four, in the same run.

``cache_admin.backends.django_redis.RedisCache`` against ``django_redis.cache.RedisCache``,
and ``cache_admin.backends.redis.RedisCache`` against Django's own Redis backend. The four
contenders take turns call by call and each call is timed on its own; a round's figure per
contender is its median call. The order turns and flips from round to round. The ratios
are reported per round (median and spread over the rounds): a noisy neighbour on a shared
machine moves the rounds, not the pairs.

    python bench/backend_hit_path.py [--calls 5000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from typing import Any

from _common import (
    VALUE,
    configure,
    default_nice,
    emit,
    environment,
    ratio_spread,
    start_redis,
    take_turns,
)

OPTIONS_DJANGO_REDIS = {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25}
OPTIONS_BUILTIN = {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}
PAIRS = {  # package backend: the backend it wraps
    "guarded django-redis": "django-redis",
    "guarded django builtin": "django builtin",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000, help="calls per contender per round")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    with start_redis() as server:
        location = f"{server.url}/0"
        aliases = {
            "django-redis": ("django_redis.cache.RedisCache", OPTIONS_DJANGO_REDIS),
            "guarded django-redis": (
                "cache_admin.backends.django_redis.RedisCache",
                OPTIONS_DJANGO_REDIS,
            ),
            "django builtin": ("django.core.cache.backends.redis.RedisCache", OPTIONS_BUILTIN),
            "guarded django builtin": ("cache_admin.backends.redis.RedisCache", OPTIONS_BUILTIN),
        }
        configure(
            server,
            caches={
                name: {"BACKEND": path, "LOCATION": location, "KEY_PREFIX": "b", "OPTIONS": opts}
                for name, (path, opts) in aliases.items()
            },
        )
        from django.core.cache import caches

        from cache_admin.backend import client

        names = list(aliases)
        gets: list[Callable[[], Any]] = []
        for name in names:
            cache = caches[name]
            cache.set("user_profile:42", VALUE, 600)
            assert cache.get("user_profile:42") == VALUE
            gets.append(lambda cache=cache: cache.get("user_profile:42"))

        per_round = take_turns(dict(zip(names, gets, strict=True)), args.calls, args.rounds)

        for name in names:
            rounds = per_round[name]
            emit(
                "backend_hit_path",
                contender=name,
                median_us=round(statistics.median(rounds), 2),
                min_round_us=round(min(rounds), 2),
                max_round_us=round(max(rounds), 2),
                rounds=len(rounds),
                calls_per_round=args.calls,
            )
        summary: dict[str, Any] = {}
        for guarded, plain in PAIRS.items():
            key = guarded.replace(" ", "_")
            spread = ratio_spread(per_round[guarded], per_round[plain])
            summary.update({f"{key}_{name}": value for name, value in spread.items()})
        emit(
            "backend_hit_path_summary",
            **summary,
            target="<= 1.05",
            rounds=args.rounds,
            calls_per_round=args.calls,
            redis_nice=default_nice(),
            **environment(client(caches["django-redis"])),
        )


if __name__ == "__main__":
    main()
