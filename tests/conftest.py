from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import BaseCache, caches

from cache_admin import background, breaker, counter_flush, policy
from cache_admin.caching import read_choice
from cache_admin.testing import RedisClusterServer
from tests.settings import cluster_caches

# Celery app and worker fixtures (tests/celery_fixtures.py); Redis in particular states
# (tests/redis_fixtures.py).
pytest_plugins = ["tests.celery_fixtures", "tests.redis_fixtures"]


# Seconds a test's leftover background job may take to end after the test.
JOB_GRACE = 30


# cache_alias's cluster parameters: the package's two cluster backends and django-valkey's.
CLUSTER_ALIASES = ("cluster", "cluster_builtin", "cluster_valkey")
ALIAS_FIXTURES = ("cache_alias", "server_alias", "cluster_alias")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The console and browser suites run twice in CI (plain admin, then django-unfold).
    for item in items:
        parts = item.path.parts
        if "console" in parts:
            item.add_marker(pytest.mark.console)
        if "e2e" in parts:
            item.add_marker(pytest.mark.e2e)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("cache_alias") in CLUSTER_ALIASES or "cluster_alias" in params:
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return str(settings.TEST_REDIS_URL)


@pytest.fixture
def redis_client(request: pytest.FixtureRequest, redis_url: str) -> Iterator[redis.Redis]:
    """A raw client of the test's Redis: a cluster client when the test's alias (its
    ``cache_alias``, ``cluster_alias``) is on the cluster."""
    client: Any
    if test_alias(request) in CLUSTER_ALIASES:
        client = WholeCluster.from_url(request.getfixturevalue("cluster_url"))
    else:
        client = redis.Redis.from_url(f"{redis_url}/0")
    yield client
    client.close()


def test_alias(request: pytest.FixtureRequest) -> str | None:
    """The alias a test runs on when it takes one of the alias fixtures."""
    return next(
        (request.getfixturevalue(name) for name in ALIAS_FIXTURES if name in request.fixturenames),
        None,
    )


@pytest.fixture
def neighbour(request: pytest.FixtureRequest) -> BaseCache:
    """A neighbour site's cache on the test's Redis (its cluster for a cluster alias):
    destructive operations must never touch it (S2)."""
    return caches["cluster_neighbour" if test_alias(request) in CLUSTER_ALIASES else "neighbour"]


class WholeCluster(redis.cluster.RedisCluster):
    """A cluster client whose keyspace-wide reads cover every primary, as a test of one
    server expects of its client."""

    def keys(self, pattern: Any = "*", **kwargs: Any) -> list[Any]:
        return list(super().keys(pattern, target_nodes=self.PRIMARIES, **kwargs))

    def dbsize(self, **kwargs: Any) -> int:
        sizes = super().dbsize(target_nodes=self.PRIMARIES, **kwargs)
        return sum(sizes.values()) if isinstance(sizes, dict) else int(sizes)


@pytest.fixture(autouse=True)
def _clean_state(redis_url: str) -> Iterator[None]:
    """Each test starts on an empty Redis, a closed breaker and a fresh TTL policy."""
    # Before the flush: an earlier test's hit counts must not land in this test's Redis.
    counter_flush.reset_for_tests()
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
    with counter_flush.tally.flushing:
        yield


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """A Redis Cluster of 3 primaries and 3 replicas, started the first time a test asks
    for it (``TEST_REDIS_CLUSTER_URL`` to reuse one). Its URL goes into the environment, so
    that subprocesses have the cluster aliases too (tests/settings.py)."""
    url = os.environ.get("TEST_REDIS_CLUSTER_URL")
    if url:
        yield url
        return
    cluster = RedisClusterServer().start()
    os.environ["TEST_REDIS_CLUSTER_URL"] = cluster.url
    try:
        yield cluster.url
    finally:
        del os.environ["TEST_REDIS_CLUSTER_URL"]
        cluster.stop()


@pytest.fixture
def cluster_url(redis_cluster_url: str, settings: Any) -> str:
    """The session's cluster, emptied, its aliases in CACHES for this test."""
    settings.CACHES = {**settings.CACHES, **cluster_caches(redis_cluster_url)}
    client = redis.cluster.RedisCluster.from_url(redis_cluster_url)
    try:
        client.flushall(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
    finally:
        client.close()
    return redis_cluster_url


def use_alias(request: pytest.FixtureRequest, settings: Any, alias: str) -> str:
    if alias in CLUSTER_ALIASES:
        request.getfixturevalue("cluster_url")
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": alias}
    return alias


@pytest.fixture(
    params=["default", "builtin", *CLUSTER_ALIASES],
    ids=["django-redis", "django-builtin", "cluster", "cluster-builtin", "cluster-valkey"],
)
def cache_alias(request: pytest.FixtureRequest, settings: Any) -> str:
    """Run a test against django-redis, Django's built-in Redis backend, and each backend
    on a Redis Cluster (the package's two, django-valkey's)."""
    return use_alias(request, settings, str(request.param))


@pytest.fixture(params=["default", "builtin"], ids=["django-redis", "django-builtin"])
def server_alias(request: pytest.FixtureRequest, settings: Any) -> str:
    """Run a test about one Redis server against django-redis and Django's built-in backend."""
    return use_alias(request, settings, str(request.param))


@pytest.fixture(params=CLUSTER_ALIASES, ids=["cluster", "cluster-builtin", "cluster-valkey"])
def cluster_alias(request: pytest.FixtureRequest, settings: Any) -> str:
    """Run a test about a Redis Cluster against each backend on the session's cluster."""
    return use_alias(request, settings, str(request.param))


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
