"""Fixtures for Redis in particular states: unreachable, lost in the middle of a job,
recording every command in its slow log, and an analysis or a find-all search held after
its first batch."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches

from cache_admin.testing import RedisServer

# A Lua loop of about 10 to 20 ms: a slow command for the slow log and LATENCY.
BUSY_SCRIPT = "local i = 0 while i < 3000000 do i = i + 1 end return i"


@pytest.fixture
def redis_down(settings: Any) -> None:
    """The default cache points at a port where nothing listens."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "KEY_PREFIX": "testsite",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }


@pytest.fixture
def doomed_redis(settings: Any) -> Iterator[RedisServer]:
    """A server of its own (cache alias "lost", small SCAN steps) that a test may stop."""
    from cache_admin.invalidation import outbox

    server = RedisServer().start()
    settings.CACHES = {
        **settings.CACHES,
        "lost": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"{server.url}/0",
            "KEY_PREFIX": "site",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        },
    }
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "CACHE_ALIAS": "lost",
        "SCAN_COUNT": 10,
        "OUTBOX_RETRY_INTERVAL": 0,
    }
    try:
        yield server
    finally:
        server.stop()
        caches["lost"].close()
        outbox.clear()


@pytest.fixture
def recording_server(redis_client: redis.Redis) -> Iterator[redis.Redis]:
    """The test server logs every command in its slow log and latency events from 1 ms."""
    before = redis_client.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"]
    redis_client.config_set("slowlog-log-slower-than", 0)
    redis_client.config_set("latency-monitor-threshold", 1)
    redis_client.slowlog_reset()
    redis_client.execute_command("LATENCY", "RESET")
    yield redis_client
    redis_client.config_set("slowlog-log-slower-than", before)
    redis_client.config_set("latency-monitor-threshold", 0)
    redis_client.slowlog_reset()
    redis_client.execute_command("LATENCY", "RESET")


@contextlib.contextmanager
def held_job(hooks: list[Any]) -> Iterator[tuple[threading.Event, threading.Event]]:
    """A background job waits in its first call of ``hooks`` (after its first progress
    write) until the test releases it: (reached, release)."""
    reached, release = threading.Event(), threading.Event()

    def hook(job_id: str, progress: Any) -> None:
        if not reached.is_set():
            reached.set()
            release.wait(30)

    hooks.append(hook)
    try:
        yield reached, release
    finally:
        release.set()
        hooks.remove(hook)


@pytest.fixture
def held_analysis() -> Iterator[tuple[threading.Event, threading.Event]]:
    """An analysis held after its first batch."""
    from cache_admin.analysis import jobs

    with held_job(jobs.batch_hooks) as held:
        yield held


@pytest.fixture
def held_search() -> Iterator[tuple[threading.Event, threading.Event]]:
    """A find-all search held after its first batch."""
    from cache_admin.keyspace import find_all

    with held_job(find_all.batch_hooks) as held:
        yield held
