from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import caches

from cache_admin import background, breaker, counters, policy
from cache_admin.caching import read_choice

# Celery app and worker fixtures (tests/celery_fixtures.py); Redis in particular states
# (tests/redis_fixtures.py).
pytest_plugins = ["tests.celery_fixtures", "tests.redis_fixtures"]


# Seconds a test's leftover background job may take to end after the test.
JOB_GRACE = 30


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The console and browser suites run twice in CI (plain admin, then django-unfold).
    for item in items:
        parts = item.path.parts
        if "console" in parts:
            item.add_marker(pytest.mark.console)
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return str(settings.TEST_REDIS_URL)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(f"{redis_url}/0")
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _clean_state(redis_url: str) -> Iterator[None]:
    """Each test starts on an empty Redis, a closed breaker and a fresh TTL policy."""
    # Before the flush: an earlier test's hit counts must not land in this test's Redis.
    counters.reset_for_tests()
    client = redis.Redis.from_url(f"{redis_url}/0")
    client.flushdb()
    client.close()
    breaker.reset_all()
    policy.reset_for_tests()
    read_choice.reset_for_tests()
    yield
    # A background job a test started and did not wait for (a prefix deletion posted by an
    # access test, an analysis) must not go on deleting or writing in the next test's Redis.
    for key in background.running_jobs():
        background.join_job(key, JOB_GRACE)
    breaker.reset_all()
    for cache in caches.all(initialized_only=True):
        cache.close()


@pytest.fixture
def quiet_background() -> Iterator[None]:
    """Keep the counters flusher off Redis for the test: its successful calls would close
    a breaker the test opened by hand, and replay what it queued. (The policy listener's
    subscription does not go through the breaker; only an announcement it owes would.)
    The test's own thread may still flush counters."""
    with counters._tally.flushing:
        yield


@pytest.fixture(params=["default", "builtin"], ids=["django-redis", "django-builtin"])
def cache_alias(request: pytest.FixtureRequest, settings: object) -> str:
    """Run a test against django-redis and against Django's built-in Redis backend."""
    alias = str(request.param)
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": alias}  # type: ignore[attr-defined]
    return alias


@pytest.fixture
def socket_use(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Thread ids of every connect and send redis-py does (background threads included)."""
    seen: list[int] = []
    connection = redis.connection.AbstractConnection
    connect, send = connection.connect, connection.send_packed_command

    def counted_connect(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(threading.get_ident())
        return connect(self, *args, **kwargs)

    def counted_send(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(threading.get_ident())
        return send(self, *args, **kwargs)

    monkeypatch.setattr(connection, "connect", counted_connect)
    monkeypatch.setattr(connection, "send_packed_command", counted_send)
    return seen


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Thread ids of every request redis-py sends: one per command, one per pipeline."""
    seen: list[int] = []
    connection = redis.connection.AbstractConnection
    send = connection.send_packed_command

    def counted_send(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(threading.get_ident())
        return send(self, *args, **kwargs)

    monkeypatch.setattr(connection, "send_packed_command", counted_send)
    return seen
