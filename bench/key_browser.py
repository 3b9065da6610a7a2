"""Key browser: time of one key page on 10,000 vs 1,000,000 keys, against dj-redis-panel.

Both are driven in-process through Django's test client (middleware, session, login,
templates: a whole request), on the same Redis in the same run, and through their toolkit
calls (no HTML). Two queries: a dense prefix (``product:``, every key matches) and a rare
one (``rare:``, one key in the whole keyspace). Each size has a database of its own on the
one Redis (a cache alias each; the console follows ``CACHE_ALIAS``), so every round
measures every contender on every size in turn, alternating the order: the ratio between
sizes compares figures taken side by side, not minutes apart on a busy machine. Medians
with their spread (min-max over the rounds); SCAN commands per request come from INFO
commandstats.

    python bench/key_browser.py [--sizes 10000 1000000] [--rounds 7]

dj-redis-panel is a peer for comparison only: ``pip install dj-redis-panel``. Without it
the peer rows are skipped and the output says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import redis
from _common import emit, environment, median, populate, ratio_spread, start_redis, take_turns

SITE = "bench:1:"  # KEY_PREFIX "bench", version 1
PAGE = 100
DATABASES = 4  # one per keyspace size, at most
HAS_PANEL = importlib.util.find_spec("dj_redis_panel") is not None
urlpatterns: list[Any] = []  # filled in configure(): this module is the ROOT_URLCONF


def configure(url: str, caches: dict[str, dict[str, Any]] | None = None) -> None:
    """Django with the console on ``url``: one cache alias per database of that Redis, or
    ``caches`` (bench/cluster_key_browser.py: one cluster per size)."""
    import django
    from django.conf import settings
    from django.core.management import call_command

    db = os.path.join(tempfile.mkdtemp(prefix="cache-admin-bench-"), "db.sqlite3")
    host, port = url.removeprefix("redis://").split(":")
    panel_apps = ["dj_control_room_base", "dj_redis_panel"] if HAS_PANEL else []
    settings.configure(
        SECRET_KEY="bench-only",
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        USE_TZ=True,
        ROOT_URLCONF=__name__,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "django_htmx",
            "cache_admin",
            *panel_apps,
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django_htmx.middleware.HtmxMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        STATIC_URL="/static/",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db}},
        CACHES=caches
        or {
            (f"db{db}" if db else "default"): {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"{url}/{db}",
                "KEY_PREFIX": "bench",
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 5, "SOCKET_TIMEOUT": 60},
            }
            for db in range(DATABASES)
        },
        CACHE_ADMIN={
            "CACHE_ALIAS": "default",
            "TYPES": {"product_detail": {"prefix": "product:", "ttl": 900}},
        },
        DJ_REDIS_PANEL_SETTINGS={
            "INSTANCES": {"bench": {"type": "single", "host": host, "port": int(port)}}
        },
    )
    django.setup()
    from django.contrib import admin
    from django.urls import include, path

    urlpatterns.append(path("admin/", admin.site.urls))
    if HAS_PANEL:
        urlpatterns.append(path("redis-panel/", include("dj_redis_panel.urls")))
    call_command("migrate", verbosity=0)


def scan_calls(r: Any) -> int:
    return int(r.info("commandstats").get("cmdstat_scan", {}).get("calls", 0))


def on_alias(alias: str, call: Callable[[], Any]) -> Callable[[], Any]:
    """``call`` with the console and toolkit pointed at the cache alias of one size."""
    from django.conf import settings
    from django.test import override_settings

    def run() -> Any:
        with override_settings(CACHE_ADMIN={**settings.CACHE_ADMIN, "CACHE_ALIAS": alias}):
            return call()

    return run


def bare_scans(db: int) -> Callable[[], Any]:
    """The server's own floor: SCAN from the start, COUNT 1,000, until 10,000 keys were
    examined (a page's CONSOLE_SCAN_BUDGET) or the keyspace ends."""
    from django.core.cache import caches

    from cache_admin.backend import client as raw_client

    r = raw_client(caches[f"db{db}" if db else "default"])
    return lambda: scan_rare(r, 10_000)


def scan_rare(r: redis.Redis, budget: int) -> int:
    """SCAN from the start, COUNT 1,000, MATCH ``rare:*``, until ``budget`` keys were
    examined or the keyspace ends: the rare keys found."""
    cursor, examined, found = 0, 0, 0
    while examined < budget:
        cursor, batch = r.scan(cursor, match=f"{SITE}rare:*", count=1000)
        examined, found = examined + 1000, found + len(batch)
        if cursor == 0:
            break
    return found


def admin_client() -> Any:
    """Django's test client, logged in as a new superuser."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    http = Client()
    http.force_login(user)
    return http


def contenders(client: Any, db: int) -> dict[str, Callable[[], Any]]:
    from django.urls import reverse

    from cache_admin import keyspace

    keys_url = reverse("admin:cache_admin_keys")
    tree_url = reverse("admin:cache_admin_keys_tree")
    alias = f"db{db}" if db else "default"

    def get(url: str, **query: Any) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(url, query)
            assert response.status_code == 200, (url, response.status_code)
            return response

        return call

    def both(*calls: Callable[[], Any]) -> Callable[[], Any]:
        return lambda: [call() for call in calls]

    page_dense = get(keys_url, prefix="product:", page_size=PAGE)
    page_rare = get(keys_url, prefix="rare:", page_size=PAGE)
    tree_dense = get(tree_url, prefix="product:")
    tree_rare = get(tree_url, prefix="rare:")
    ours: dict[str, Callable[[], Any]] = {
        "toolkit scan_page product:": lambda: keyspace.scan_page("product:", page_size=PAGE),
        "toolkit scan_page rare:": lambda: keyspace.scan_page("rare:", page_size=PAGE),
        "console request product:": page_dense,
        "console request rare:": page_rare,
        "console tree fragment product:": tree_dense,
        "console tree fragment rare:": tree_rare,
        "console page + tree product:": both(page_dense, tree_dense),
        "console page + tree rare:": both(page_rare, tree_rare),
    }
    found = {name: on_alias(alias, call) for name, call in ours.items()}
    found["baseline: bare SCANs of 10,000 keys, MATCH rare:*"] = bare_scans(db)
    if HAS_PANEL:
        from dj_redis_panel.redis_utils import RedisPanelUtils

        panel_url = f"/redis-panel/bench/db/{db}/keys/"
        found.update(
            {
                "dj-redis-panel paginated_scan product:": lambda: RedisPanelUtils.paginated_scan(
                    "bench", db, f"{SITE}product:*", 1, PAGE
                ),
                "dj-redis-panel request product:": get(
                    panel_url, q=f"{SITE}product:*", per_page=PAGE
                ),
                "dj-redis-panel request rare:": get(panel_url, q=f"{SITE}rare:*", per_page=PAGE),
            }
        )
    return found


def rare_found(size: int, db: int) -> dict[str, Any]:
    """Whether one page finds the single rare key, and how many pages it takes."""
    from django.conf import settings
    from django.test import override_settings

    alias = f"db{db}" if db else "default"
    with override_settings(CACHE_ADMIN={**settings.CACHE_ADMIN, "CACHE_ALIAS": alias}):
        return _rare_found(db)


def _rare_found(db: int) -> dict[str, Any]:
    from cache_admin import keyspace

    page = keyspace.scan_page("rare:", page_size=PAGE)
    pages = 1
    while not page.keys and not page.done:
        page = keyspace.scan_page("rare:", cursor=page.cursor, page_size=PAGE)
        pages += 1
    result: dict[str, Any] = {"toolkit_found": bool(page.keys), "toolkit_requests": pages}
    if HAS_PANEL:
        from dj_redis_panel.redis_utils import RedisPanelUtils

        full = RedisPanelUtils.paginated_scan("bench", db, f"{SITE}rare:*", 1, PAGE)
        cursor = RedisPanelUtils.cursor_paginated_scan("bench", db, f"{SITE}rare:*", PAGE)
        result.update(
            panel_paginated_found=bool(full["keys"]),
            panel_paginated_total=full["total_keys"],
            panel_cursor_first_page_found=bool(cursor["keys"]),
        )
        dense = RedisPanelUtils.paginated_scan("bench", db, f"{SITE}product:*", 1, PAGE)
        result["panel_reported_total_product"] = dense["total_keys"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    with start_redis() as server:
        configure(server.url)
        from cache_admin.backend import client as raw_client

        r = raw_client()
        http = admin_client()
        emit("environment", **environment(r), dj_redis_panel=HAS_PANEL)
        if not HAS_PANEL:
            emit(
                "skipped",
                peer="dj-redis-panel",
                reason="not installed (pip install dj-redis-panel)",
            )
        if len(args.sizes) > DATABASES:
            parser.error(f"at most {DATABASES} sizes")
        sizes = sorted(args.sizes)
        clients = {}
        for db, size in enumerate(sizes):
            r_db = redis.Redis.from_url(f"{server.url}/{db}")
            r_db.flushdb()
            populate(r_db, f"{SITE}product:", size - 1, b"\x80\x05K\x01.")
            r_db.set(f"{SITE}rare:needle", b"\x80\x05K\x01.")
            clients[size] = r_db
        calls = {size: contenders(http, db) for db, size in enumerate(sizes)}
        for by_name in calls.values():  # warm-up: connections, templates, imports
            for call in by_name.values():
                call()
        names = list(calls[sizes[0]])
        # Every contender on every size in each round, one call each, the order turning
        # from round to round (bench/_common.py); medians in microseconds per round.
        turns = take_turns(
            {f"{size} {name}": calls[size][name] for name in names for size in sizes},
            1,
            args.rounds,
        )
        samples = {(size, name): turns[f"{size} {name}"] for name in names for size in sizes}
        for size in sizes:
            for name in names:
                before = scan_calls(r)
                calls[size][name]()
                scans = scan_calls(r) - before
                values = [v / 1000 for v in samples[(size, name)]]
                emit(
                    "key_page",
                    keys=size,
                    contender=name,
                    median_ms=round(median(values), 2),
                    min_ms=round(min(values), 2),
                    max_ms=round(max(values), 2),
                    scan_calls=scans,
                )
            emit("rare_key", keys=size, **rare_found(size, sizes.index(size)))
        if len(sizes) >= 2:
            low, high = sizes[0], sizes[-1]
            for name in names:
                emit(
                    "ratio",
                    contender=name,
                    keys=f"{high} vs {low}",
                    ratio_of_medians=round(
                        median(samples[(high, name)]) / median(samples[(low, name)]), 2
                    ),
                    **ratio_spread(samples[(high, name)], samples[(low, name)]),
                    target="peer" if name.startswith("dj-redis-panel") else "<= 1.2",
                )


if __name__ == "__main__":
    sys.modules.setdefault("key_browser", sys.modules[__name__])
    main()
