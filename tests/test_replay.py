"""R2: invalidations issued while Redis is unreachable take effect once it is back."""

from __future__ import annotations

import logging
import pathlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches

from cache_admin import (
    CacheInvalidator,
    backend,
    breaker,
    delete_keys,
    generations,
    keys,
    stored_keys,
)
from cache_admin.guard import guarded
from cache_admin.invalidation import outbox
from cache_admin.testing import RedisServer
from tests import redis_commands
from tests.testapp.models import Product

BACKENDS = {
    "django-redis": {
        "BACKEND": "django_redis.cache.RedisCache",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    },
    "django-builtin": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    },
}
OLD_VALUES = ["product:1", "product:slug:laptop", "search:product:a", "search:product:b"]
KEPT = ["category:1", "cart:user:7"]


class Outage:
    def __init__(self, server: RedisServer, alias: str, data_dir: str) -> None:
        self.server = server
        self.alias = alias
        self.port = server.port
        self.data_dir = data_dir

    @property
    def cache(self) -> Any:
        return caches[self.alias]

    def raw(self) -> redis.Redis:
        return redis.Redis(port=self.port)

    def stored(self, logical: str) -> str:
        return stored_keys.stored_key(logical, self.cache)

    def write_old_values(self) -> None:
        client = self.raw()
        for key in [*OLD_VALUES, *KEPT, generations.key(Product)]:
            client.set(self.stored(key), b"old")
        client.close()

    def stop(self) -> None:
        # Keep a snapshot, so that the server comes back with the stale values in it
        # from its first instant, as one with persistence does.
        client = self.raw()
        client.save()
        client.close()
        self.server.stop()

    def restart_with_old_values(self) -> None:
        self.server = RedisServer(self.port, "--dir", self.data_dir).start()
        assert self.exists("product:1")

    def exists(self, logical: str) -> bool:
        client = self.raw()
        try:
            return bool(client.exists(self.stored(logical)))
        finally:
            client.close()


@pytest.fixture(params=list(BACKENDS))
def outage(
    request: pytest.FixtureRequest, settings: Any, tmp_path: pathlib.Path
) -> Iterator[Outage]:
    server = RedisServer(None, "--dir", str(tmp_path)).start()
    alias = "outage"
    caches_setting = {
        **settings.CACHES,
        alias: {**BACKENDS[request.param], "LOCATION": f"{server.url}/0", "KEY_PREFIX": "site"},
    }
    # The site's alias stays "default": background threads (TTL policy listener, counters)
    # never touch this server, so each test decides what brings the breaker back.
    cache_admin = {
        **settings.CACHE_ADMIN,
        "BREAKER_THRESHOLD": 1,
        "BREAKER_COOLDOWN": 0,
        # No probe thread: a trial call at once is what closes the breaker here.
        "BREAKER_PROBE_INTERVAL": 0,
        "OUTBOX_RETRY_INTERVAL": 0,
    }
    outbox.clear()
    # Through the settings fixture, as the tests' own changes are: it undoes them all in
    # reverse order (an override_settings block exited before a test's own override would
    # leave this fixture's values behind for the next module).
    settings.CACHES = caches_setting
    settings.CACHE_ADMIN = cache_admin
    found = Outage(server, alias, str(tmp_path))
    found.write_old_values()
    yield found
    caches[alias].close()
    found.server.stop()
    outbox.clear()
    breaker.breaker_for(alias).reset()


def _invalidate_during_outage(outage: Outage) -> None:
    outage.stop()
    alias = outage.alias
    results = [
        CacheInvalidator.invalidate_keys("product:1", "product:slug:laptop", alias=alias),
        CacheInvalidator.invalidate_list_cache(Product, alias=alias),
        CacheInvalidator.invalidate_prefix("search:", alias=alias),
    ]
    assert all(r.queued for r in results), results
    assert results[1].message == "product lists: Redis unreachable, new generation queued"
    assert outbox.pending_count(outage.alias) == 4


def _assert_took_effect(outage: Outage) -> None:
    for key in OLD_VALUES:
        assert not outage.exists(key), key
    for key in KEPT:
        assert outage.exists(key), key
    assert not outage.exists(generations.key(Product))  # a new token is made on next read
    assert outbox.pending_count() == 0


def test_replayed_when_the_breaker_closes(outage: Outage) -> None:
    _invalidate_during_outage(outage)
    assert breaker.breaker_for(outage.alias).state != breaker.CLOSED
    outage.restart_with_old_values()

    # Any guarded call that succeeds closes the breaker and runs the recovery hooks.
    outage.cache.close()
    client = backend.client(outage.cache)
    assert guarded(lambda: client.get(outage.stored("category:1")), alias=outage.alias) == b"old"

    _assert_took_effect(outage)


def test_replayed_on_the_next_successful_deletion(outage: Outage) -> None:
    _invalidate_during_outage(outage)
    outage.restart_with_old_values()
    outage.cache.close()
    breaker.breaker_for(outage.alias).reset()  # closed already: only the deletion can replay

    assert delete_keys(["unrelated"], alias=outage.alias) == 0

    _assert_took_effect(outage)


def test_replayed_by_the_retry_thread(outage: Outage, settings: Any) -> None:
    _invalidate_during_outage(outage)
    outage.restart_with_old_values()
    outage.cache.close()
    recovered = threading.Event()

    def hook(alias: str) -> None:
        recovered.set()

    breaker.on_recovery(hook)
    try:
        settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "OUTBOX_RETRY_INTERVAL": 0.05}
        outbox.wake_retry()
        assert recovered.wait(10)
        assert outbox.replay() == 0  # waits for the thread's replay; nothing was left to do
    finally:
        breaker._recovery_hooks.remove(hook)
    _assert_took_effect(outage)


def test_a_second_outage_during_replay_keeps_the_rest(outage: Outage) -> None:
    _invalidate_during_outage(outage)
    assert outbox.replay() == 0  # still down: everything stays queued
    assert outbox.pending_count(outage.alias) == 4
    outage.restart_with_old_values()
    outage.cache.close()
    outbox.replay(outage.alias)
    _assert_took_effect(outage)


def test_dry_run_during_an_outage_says_so(outage: Outage) -> None:
    outage.stop()
    with pytest.raises(outbox.CacheUnavailable):
        CacheInvalidator.invalidate_by_prefix("search:", dry_run=True, alias=outage.alias)
    assert outbox.pending_count() == 0


def test_iter_prefix_during_an_outage_queues_the_prefix(outage: Outage) -> None:
    outage.stop()
    with pytest.raises(outbox.CacheUnavailable) as raised:
        list(CacheInvalidator.iter_invalidate_prefix("search:", alias=outage.alias))
    assert raised.value.queued
    assert outbox.pending_count(outage.alias) == 1


def test_the_outbox_is_bounded(
    outage: Outage, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "OUTBOX_MAX_KEYS": 3}
    outage.stop()
    with caplog.at_level(logging.ERROR, logger="cache_admin"):
        named = (keys.detail_key(Product, n) for n in range(5))
        result = CacheInvalidator.invalidate_keys(*named, alias=outage.alias)
    assert result.queued
    assert outbox.pending_count(outage.alias) == 3
    assert "outbox for cache 'outage' is full" in caplog.text
    assert "2 invalidations dropped" in caplog.text


def test_a_long_outage_does_not_flood_the_log(
    outage: Outage, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "OUTBOX_MAX_KEYS": 3}
    outage.stop()
    with caplog.at_level(logging.WARNING, logger="cache_admin"):
        for n in range(20):
            CacheInvalidator.invalidate_keys(keys.detail_key(Product, n), alias=outage.alias)
            outbox.replay(outage.alias)  # fails again and queues again
    assert outbox.pending_count(outage.alias) == 3
    assert caplog.text.count("invalidations queued") == 1
    assert caplog.text.count("is full") == 1


def test_list_generation_of_the_site_alias(outage: Outage, settings: Any) -> None:
    # On the site's own alias the bump goes through generations.bump(), which raises.
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": outage.alias}
    outage.stop()
    assert CacheInvalidator.invalidate_list_cache(Product).queued
    outage.restart_with_old_values()
    outage.cache.close()
    outbox.replay()  # waits for a replay another thread may have started on recovery
    assert generations.token(Product) != "old"
    assert outbox.pending_count() == 0


@pytest.mark.django_db
def test_a_save_during_the_outage_is_replayed(
    outage: Outage, django_capture_on_commit_callbacks: Any
) -> None:
    from cache_admin.invalidation import model_keys, register, unregister
    from tests.testapp.models import Category

    register(Product, slug_field="slug", alias=outage.alias)
    try:
        category = Category.objects.create(name="Computers", slug="computers")
        with django_capture_on_commit_callbacks(execute=True):
            product = Product.objects.create(name="Laptop", slug="laptop", category=category)
        stale = [keys.detail_key(Product, product.pk), keys.slug_key(Product, "laptop")]
        client = outage.raw()
        for key in stale:
            client.set(outage.stored(key), b"old")
        client.close()
        outage.stop()

        with django_capture_on_commit_callbacks(execute=True):
            product.name = "Laptop Pro"
            product.save()  # must not raise: the invalidation is queued

        named = model_keys(product)  # detail, slug, attributes known in this process
        assert outbox.pending_count(outage.alias) == len(named) + 1  # and the generation token
        outage.restart_with_old_values()
        assert all(outage.exists(key) for key in stale)
        outage.cache.close()
        outbox.replay(outage.alias)
        assert not any(outage.exists(key) for key in stale)
    finally:
        unregister(Product)


def test_an_open_breaker_queues_without_touching_redis(
    cache_alias: str, settings: Any, redis_client: redis.Redis, quiet_background: None
) -> None:
    # Opened by hand on a Redis that answers: no probe may close it meanwhile.
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "BREAKER_COOLDOWN": 3600,
        "BREAKER_PROBE_INTERVAL": 0,
    }
    cache = caches[cache_alias]
    cache.set("product:1", "stale")
    found = breaker.breaker_for(cache_alias)
    for _ in range(int(settings.CACHE_ADMIN.get("BREAKER_THRESHOLD", 3))):
        found.failure(redis.ConnectionError("simulated"))
    assert found.state == breaker.OPEN
    unlinks = redis_commands.calls(redis_client, "unlink")
    try:
        result = CacheInvalidator.invalidate_keys("product:1")
        assert result.queued and result.deleted == 0
        assert redis_commands.calls(redis_client, "unlink") == unlinks
        # Still there (read around the breaker: a fail-open backend would answer a miss).
        assert redis_client.exists(stored_keys.stored_key("product:1")) == 1

        found.reset()
        delete_keys(["unrelated"])  # the next successful deletion replays the queue
        assert cache.get("product:1") is None
    finally:
        outbox.clear()
