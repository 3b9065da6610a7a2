"""R2 across processes: invalidations queued during an outage outlive the process that queued them.

Each queued entry is also a QueuedInvalidation row; a process that reaches Redis again
adopts the rows of its cache alias, replays them and deletes them.
"""

from __future__ import annotations

import logging
import os
import pathlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.db import connection

from cache_admin import CacheInvalidator, backend, breaker, delete_keys, stored_keys
from cache_admin.guard import guarded
from cache_admin.invalidation import outbox
from cache_admin.models import QueuedInvalidation
from cache_admin.testing import RedisServer

ROOT = pathlib.Path(__file__).resolve().parents[1]
ALIAS = "outage"
STALE = ["product:1", "product:slug:laptop", "search:product:a", "search:product:b"]
KEPT = ["category:1"]


class Site:
    def __init__(self, server: RedisServer, data_dir: str) -> None:
        self.server = server
        self.port = server.port
        self.data_dir = data_dir

    def stored(self, logical: str) -> str:
        return stored_keys.stored_key(logical, caches[ALIAS])

    def exists(self, logical: str) -> bool:
        with redis.Redis(port=self.port) as client:
            return bool(client.exists(self.stored(logical)))

    def go_down(self) -> None:
        with redis.Redis(port=self.port) as client:  # it comes back with the stale values
            client.save()
        self.server.stop()

    def come_back(self) -> None:
        self.server = RedisServer(self.port, "--dir", self.data_dir).start()
        caches[ALIAS].close()
        assert all(self.exists(key) for key in STALE)


@pytest.fixture
def site(settings: Any, tmp_path: pathlib.Path) -> Iterator[Site]:
    server = RedisServer(None, "--dir", str(tmp_path)).start()
    settings.CACHES = {
        **settings.CACHES,
        ALIAS: {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"{server.url}/0",
            "KEY_PREFIX": "site",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        },
    }
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "BREAKER_THRESHOLD": 1,
        "BREAKER_COOLDOWN": 0,
        # No probe thread: a trial call at once is what closes the breaker here.
        "BREAKER_PROBE_INTERVAL": 0,
        "OUTBOX_RETRY_INTERVAL": 0,
    }
    outbox.clear()
    found = Site(server, str(tmp_path))
    with redis.Redis(port=server.port) as client:
        for key in [*STALE, *KEPT]:
            client.set(found.stored(key), b"old")
    yield found
    caches[ALIAS].close()
    found.server.stop()
    outbox.clear()
    breaker.breaker_for(ALIAS).reset()


CHILD = textwrap.dedent(
    """
    import os, sys
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    from django.conf import settings
    settings.DATABASES["default"]["NAME"] = os.environ["CACHE_ADMIN_TEST_DB"]
    settings.CACHES["outage"] = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ["OUTAGE_REDIS_URL"] + "/0",
        "KEY_PREFIX": "site",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
    import django
    django.setup()
    from cache_admin import CacheInvalidator
    from cache_admin.invalidation import outbox
    results = [
        CacheInvalidator.invalidate_keys("product:1", "product:slug:laptop", alias="outage"),
        CacheInvalidator.invalidate_prefix("search:", alias="outage"),
    ]
    assert all(r.queued for r in results), results
    print(outbox.pending_count("outage"), flush=True)
    """
)


def invalidate_in_another_process_and_exit(site: Site) -> None:
    env = {
        **os.environ,
        "CACHE_ADMIN_TEST_DB": str(connection.settings_dict["NAME"]),
        "OUTAGE_REDIS_URL": f"redis://127.0.0.1:{site.port}",
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"  # two keys and a prefix, queued in the child


@pytest.mark.django_db(transaction=True)
def test_a_process_that_exits_during_the_outage_leaves_its_queue_to_another(
    site: Site,
) -> None:
    site.go_down()
    invalidate_in_another_process_and_exit(site)
    rows = set(QueuedInvalidation.objects.values_list("alias", "kind", "target"))
    assert rows == {
        (ALIAS, "key", site.stored("product:1")),
        (ALIAS, "key", site.stored("product:slug:laptop")),
        (ALIAS, "prefix", "search:"),
    }
    site.come_back()
    assert outbox.pending_count(ALIAS) == 0  # nothing queued in this process

    # This process never saw the outage: its first successful deletion looks for rows.
    assert delete_keys(["unrelated"], alias=ALIAS) == 0

    assert not any(site.exists(key) for key in STALE)
    assert all(site.exists(key) for key in KEPT)
    assert not QueuedInvalidation.objects.exists()
    assert outbox.pending_count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_breaker_that_closes_adopts_the_rows_at_once(site: Site, settings: Any) -> None:
    # Looking for rows on deletions is rate-limited; a recovery looks whatever the limit.
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "OUTBOX_ADOPT_INTERVAL": 3600}
    assert delete_keys(["unrelated"], alias=ALIAS) == 0  # the one look of this hour
    site.go_down()
    invalidate_in_another_process_and_exit(site)
    with pytest.raises(outbox.CacheUnavailable):  # this process sees the outage too
        guarded(
            lambda: backend.client(caches[ALIAS]).ping(), alias=ALIAS, error=outbox.CacheUnavailable
        )
    assert breaker.breaker_for(ALIAS).state != breaker.CLOSED
    site.come_back()

    client = backend.client(caches[ALIAS])
    assert guarded(lambda: client.get(site.stored("category:1")), alias=ALIAS) == b"old"

    assert not any(site.exists(key) for key in STALE)
    assert not QueuedInvalidation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_rows_of_this_process_go_when_it_replays_them(site: Site) -> None:
    site.go_down()
    assert CacheInvalidator.invalidate_keys("product:1", alias=ALIAS).queued
    assert CacheInvalidator.invalidate_prefix("search:", alias=ALIAS).queued
    assert QueuedInvalidation.objects.count() == 2
    site.come_back()
    assert outbox.replay(ALIAS) == 2
    assert not site.exists("product:1") and not site.exists("search:product:a")
    assert not QueuedInvalidation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_failed_replay_keeps_the_rows(site: Site) -> None:
    site.go_down()
    assert CacheInvalidator.invalidate_keys("product:1", alias=ALIAS).queued
    assert outbox.replay(ALIAS) == 0  # still down: queued again, row kept
    assert outbox.pending_count(ALIAS) == 1
    assert QueuedInvalidation.objects.count() == 1
    site.come_back()
    assert outbox.replay(ALIAS) == 1
    assert not QueuedInvalidation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_database_copy_can_be_turned_off(site: Site, settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "OUTBOX_DURABLE": False}
    site.go_down()
    assert CacheInvalidator.invalidate_keys("product:1", alias=ALIAS).queued
    assert outbox.pending_count(ALIAS) == 1
    assert not QueuedInvalidation.objects.exists()


def test_without_a_database_the_queue_stays_in_memory_and_says_so_once(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    # No database access in this test: writing the rows fails, the outbox does not.
    site.go_down()
    with caplog.at_level(logging.WARNING, logger="cache_admin"):
        for n in range(3):
            assert CacheInvalidator.invalidate_keys(f"product:{n}", alias=ALIAS).queued
    assert outbox.pending_count(ALIAS) == 3
    assert caplog.text.count("cannot be kept in the database") == 1
    site.come_back()
    assert outbox.replay(ALIAS) == 3
    assert not site.exists("product:1")
