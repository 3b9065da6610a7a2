"""List and queryset hits: ``CachePattern.cache_list_view`` and ``cache_queryset`` against
``cache.get`` of the same value.

A page of 20 ``auth.Permission`` rows (with their content type, ``select_related``) is
cached by ``cache_list_view`` (a fresh queryset per call, as a view builds one per
request; built before the clock starts) and stored with ``cache.set`` under another key;
the rows of a ``cache_queryset`` function likewise. The four contenders take turns call by
call, the order turning from round to round, and each call is timed on its own, wall clock
and this thread's CPU time (the client's cost, without the wait for Redis). A round's
figure per contender is its median call; the ratios are taken per round, then their
median and range over the rounds.

The engine loads model rows without asking the app registry once per instance
(``cache_admin.pickled_values``), which ``cache.get`` does not: after the hit rounds the two
loads of the page's bytes take turns on their own, and the summary gives the list hit's CPU
above ``cache.get``, the decoding saved, and their sum, what the package's own steps cost.

    python bench/list_hit_path.py [--calls 2000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import pickle
from collections.abc import Callable
from typing import Any

from _common import (
    configure,
    default_nice,
    emit,
    environment,
    median,
    medians,
    ratios,
    start_redis,
    timed_turns,
)

PER_PAGE = 20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000, help="calls per contender per round")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    with start_redis() as server:
        configure(
            server,
            {
                "permission_list": {"prefix": "permission:list:", "ttl": 600},
                "permissions": {"prefix": "permissions:", "ttl": 600},
            },
        )
        from django.contrib.auth.models import Permission
        from django.core.cache import cache
        from django.db.models import QuerySet

        from cache_admin import CachePattern, cache_queryset, pickled_values
        from cache_admin.backend import client
        from cache_admin.stored_keys import stored_key

        def page_queryset() -> QuerySet[Permission]:
            return Permission.objects.select_related("content_type").order_by("codename", "pk")

        def list_view(queryset: QuerySet[Permission]) -> Any:
            return CachePattern.cache_list_view(
                queryset, filters={"sort": "codename"}, page=1, per_page=PER_PAGE
            )

        @cache_queryset(key_prefix="permissions:auth", model=Permission)
        def auth_permissions() -> QuerySet[Permission]:
            return page_queryset().filter(content_type__app_label="auth")

        page = list_view(page_queryset())
        rows = auth_permissions()
        assert len(page["items"]) == PER_PAGE and rows
        assert list_view(page_queryset()) == page and auth_permissions() == rows
        cache.set("permission:raw:page", page, 600)
        cache.set("permissions:raw:rows", rows, 600)
        assert cache.get("permission:raw:page") == page

        # Each call's argument is made off the clock by prepare (a fresh queryset per call).
        nothing: Callable[[], Any] = lambda: None  # noqa: E731
        contenders: dict[str, Callable[[Any], Any]] = {
            "cache.get page": lambda _: cache.get("permission:raw:page"),
            "cache_list_view": list_view,
            "cache.get rows": lambda _: cache.get("permissions:raw:rows"),
            "cache_queryset": lambda _: auth_permissions(),
        }
        prepare = dict.fromkeys(contenders, nothing) | {"cache_list_view": page_queryset}
        baseline = {"cache_list_view": "cache.get page", "cache_queryset": "cache.get rows"}
        rounds = timed_turns(contenders, args.calls, args.rounds, prepare=prepare, cpu=True)
        for name in contenders:
            emit(
                "list_hit_path",
                contender=name,
                **medians(rounds, name),
                calls=args.calls * args.rounds,
            )
        summary: dict[str, Any] = {}
        for name, base in baseline.items():
            summary.update(ratios(rounds, name, base, f"{name}_vs_cache_get"))
            summary[f"{name}_over_cache_get_cpu_us"] = round(
                median(r[name][1] - r[base][1] for r in rounds), 2
            )
        # The engine loads model rows without asking the app registry per instance
        # (pickled_values): how much of the hit that saves, measured on its own, so that
        # what the package's own steps cost above cache.get can be told apart from it.
        data = client().get(stored_key("permission:raw:page"))
        assert isinstance(data, bytes) and pickled_values.loads(data) == page
        loads = timed_turns(
            {
                "pickle.loads page": lambda: pickle.loads(data),
                "pickled_values.loads page": lambda: pickled_values.loads(data),
            },
            args.calls,
            args.rounds,
            cpu=True,
        )
        for name in ("pickle.loads page", "pickled_values.loads page"):
            emit("list_hit_path", contender=name, **medians(loads, name), calls=args.calls)
        saved = median(r["pickle.loads page"][1] - r["pickled_values.loads page"][1] for r in loads)
        summary["page_decode_saving_cpu_us"] = round(saved, 2)
        summary["cache_list_view_own_steps_cpu_us"] = round(
            summary["cache_list_view_over_cache_get_cpu_us"] + saved, 2
        )
        emit(
            "list_hit_path_summary",
            **summary,
            target="<= 1.20",
            calls=args.calls,
            rounds=args.rounds,
            redis_nice=default_nice(),
            **environment(client()),
        )


if __name__ == "__main__":
    main()
