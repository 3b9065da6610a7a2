"""The Warm page against real Celery workers: POST/redirect/GET, a state line that follows
the runs, and queueing called a problem only when the workers' capacity does not explain
it (their pools' concurrency, read with ``inspect().stats()``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from celery import Celery
from celery.result import AsyncResult
from django.urls import reverse

from cache_admin.models import AuditEntry, WarmRun
from cache_admin.warming import register_warmer
from tests.console.test_warm import PAGE, STATUS, WAIT, Gate, warm_staff

pytestmark = [pytest.mark.celery, pytest.mark.slow]


@contextmanager
def threads_worker(app: Any, concurrency: int, queues: list[str] | None = None) -> Iterator[Any]:
    """A real worker whose tasks run in a thread pool: unlike the solo pool, it answers
    control commands (stats) while a task runs."""
    import celery.contrib.testing.tasks  # noqa: F401  (celery.ping, for the start check)
    from celery.contrib.testing.worker import start_worker

    options: dict[str, Any] = {"queues": queues} if queues else {}
    with start_worker(
        app,
        pool="threads",
        concurrency=concurrency,
        perform_ping_check=queues is None,
        shutdown_timeout=30,
        **options,
    ) as worker:
        yield worker


def _row(status: str, warmer: str) -> str:
    start = status.index(f'data-warmer="{warmer}"')
    return status[start : status.index("</tr>", start)]


def test_a_reload_after_warm_does_not_queue_again(
    celery_worker: Any, transactional_db: None, warmer_registry: Any
) -> None:
    register_warmer("products", lambda p: 1, label="Products")
    client = warm_staff()
    response = client.post(reverse(PAGE), {"warmer": "products"})
    assert response.status_code == 302 and response["Location"] == reverse(PAGE)
    landed = client.get(response["Location"]).content.decode()
    assert landed.count("Sent to Celery: Products.") == 1
    AsyncResult(WarmRun.objects.get().task_id).get(timeout=WAIT)

    again = client.get(response["Location"]).content.decode()
    assert "Sent to Celery" not in again
    assert WarmRun.objects.count() == 1
    assert AuditEntry.objects.filter(action="warm").count() == 1


def test_the_state_line_follows_the_runs_to_their_end(
    celery_worker: Any, transactional_db: None, warmer_registry: Any, settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "WARM_PROGRESS_INTERVAL": 0}
    gate = Gate()
    register_warmer("products", gate, label="Products")
    client = warm_staff()
    client.post(reverse(PAGE), {"warmer": "products"})
    assert gate.reached.wait(WAIT)
    try:
        status = client.get(reverse(STATUS)).content.decode()
        assert 'id="cache-admin-warm-state"' in status
        assert "Running: Products (25 %)." in status
    finally:
        gate.release.set()
    AsyncResult(WarmRun.objects.get().task_id).get(timeout=WAIT)
    status = client.get(reverse(STATUS)).content.decode()
    assert "No warm run is active; the last one finished just now." in status
    assert "Running:" not in status and "Waiting for a worker:" not in status


def test_a_one_slot_worker_with_two_warmers_is_normal_queueing(
    celery_test_app: Any, transactional_db: None, warmer_registry: Any, settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "WARM_PICKUP_TIMEOUT": 0}
    gate = Gate()
    register_warmer("products", gate, label="Products")
    register_warmer("categories", lambda p: 1, label="Categories")
    client = warm_staff()
    with threads_worker(celery_test_app, concurrency=1):
        client.post(reverse(PAGE), {"warmer": "products"})
        assert gate.reached.wait(WAIT)
        client.post(reverse(PAGE), {"warmer": "categories"})
        try:
            status = client.get(reverse(STATUS)).content.decode()
            waiting = _row(status, "categories")
            assert 'data-status="queued"' in waiting
            assert 'data-problem="no"' in waiting and 'role="alert"' not in waiting
            assert "1 run is ahead of this one and the workers run 1 at a time" in waiting
            assert "Waiting for a worker: Categories." in status
        finally:
            gate.release.set()
        for run in WarmRun.objects.all():
            AsyncResult(run.task_id).get(timeout=WAIT)
    assert set(WarmRun.objects.values_list("status", flat=True)) == {WarmRun.SUCCEEDED}


def test_free_slots_that_stay_free_are_a_problem(
    celery_test_app: Any, transactional_db: None, warmer_registry: Any, settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "WARM_PICKUP_TIMEOUT": 0}
    register_warmer("products", lambda p: 1, label="Products")
    client = warm_staff()
    # Two slots, but on a queue the warm jobs are not sent to: they never start. The worker
    # runs an app of its own on the same broker: choosing its queues changes its app.
    elsewhere = Celery("elsewhere")
    elsewhere.conf.update(
        broker_url=celery_test_app.conf.broker_url,
        result_backend=celery_test_app.conf.result_backend,
        worker_hijack_root_logger=False,
    )
    try:
        with threads_worker(elsewhere, concurrency=2, queues=["elsewhere"]):
            celery_test_app.set_current()  # the site's app sends the jobs, as in production
            client.post(reverse(PAGE), {"warmer": "products"})
            status = client.get(reverse(STATUS)).content.decode()
    finally:
        celery_test_app.set_current()
        celery_test_app.set_default()
    row = _row(status, "products")
    assert 'data-status="queued"' in row
    assert 'data-problem="yes"' in row and 'role="alert"' in row
    assert "the workers run 0 warm jobs of the 2 they can run at once" in row
