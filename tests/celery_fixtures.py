"""Fixtures for tests that need Celery (the suite's app as the current app, a real worker)
and an empty warmer registry; registered from tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Browser tests run last: once Playwright's session loop is up in the main thread,
    # Django refuses synchronous ORM calls there, including the database flushes of the
    # tests that would follow. trylast: after pytest's own reordering; the sort is stable.
    items.sort(key=lambda item: "e2e" in item.path.parts)


@pytest.fixture
def celery_test_app(redis_url: str, settings: Any) -> Iterator[Any]:
    from celery import _state

    from cache_admin.warming import health
    from tests.celery_app import app

    for db in (1, 2):
        client = redis.Redis.from_url(f"{redis_url}/{db}")
        client.flushdb()
        client.close()
    previous = _state.default_app
    app.set_current()
    app.set_default()
    health.reset()
    yield app
    health.reset()
    if previous is not None:
        _state.set_default_app(previous)


@pytest.fixture
def celery_worker(celery_test_app: Any, transactional_db: None) -> Iterator[Any]:
    """A real worker (solo pool) in a thread of this process, on the test broker."""
    import celery.contrib.testing.tasks  # noqa: F401  (registers celery.ping for the start check)
    from celery.contrib.testing.worker import start_worker

    with start_worker(celery_test_app, pool="solo", shutdown_timeout=30) as worker:
        yield worker


@pytest.fixture
def warmer_registry() -> Iterator[dict[str, Any]]:
    """An empty warmer registry for the test; the process's own is restored afterwards."""
    from cache_admin.warming import registry

    registry.autodiscover()
    saved = dict(registry._registry)
    registry._registry.clear()
    yield registry._registry
    registry._registry.clear()
    registry._registry.update(saved)
