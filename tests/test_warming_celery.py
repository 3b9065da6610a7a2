"""Warm jobs on a real Celery worker (solo pool, in a thread of this process)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from celery.result import AsyncResult

from cache_admin.models import WarmRun
from cache_admin.warming import Progress, register_warmer
from cache_admin.warming.dispatch import CeleryUnavailable, enqueue
from cache_admin.warming.health import broker_problem, worker_problem
from cache_admin.warming.tasks import warm, warm_all

pytestmark = [pytest.mark.celery, pytest.mark.slow]

WAIT = 20


class Gate:
    """A warmer that reports, then blocks until the test lets it go."""

    def __init__(self, total: int = 3, report_first: int = 1) -> None:
        self.total = total
        self.report_first = report_first
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, progress: Progress) -> int:
        if self.report_first:
            progress.set_total(self.total)
            for i in range(self.report_first):
                progress.write(f"product:{i}", {"id": i})
                progress.advance()
        self.reached.set()
        assert self.release.wait(WAIT), "the test never released the warmer"
        if not self.report_first:
            progress.set_total(self.total)
        for i in range(progress.current, self.total):
            progress.write(f"product:{i}", {"id": i})
            progress.advance()
        return progress.keys_written


@pytest.fixture
def unthrottled(settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "WARM_PROGRESS_INTERVAL": 0}


def test_progress_is_visible_mid_run_and_the_run_is_recorded(
    celery_worker: Any, warmer_registry: dict[str, Any], unthrottled: None
) -> None:
    gate = Gate(total=3, report_first=1)
    register_warmer("products", gate, label="Products")

    [run] = enqueue(["products"], trigger="test: alice")
    assert run.status == WarmRun.QUEUED and run.task_id
    assert gate.reached.wait(WAIT)

    result = AsyncResult(run.task_id)
    assert result.state == "PROGRESS"
    assert result.info == {"current": 1, "total": 3, "warmer": "products"}
    run.refresh_from_db()
    assert run.status == WarmRun.RUNNING
    assert (run.current, run.total) == (1, 3)
    assert run.started_at is not None and run.finished_at is None

    gate.release.set()
    outcome = result.get(timeout=WAIT)
    assert outcome["keys_written"] == 3 and outcome["warmer"] == "products"
    run.refresh_from_db()
    assert run.status == WarmRun.SUCCEEDED
    assert run.trigger == "test: alice"
    assert run.keys_written == 3
    assert (run.current, run.total) == (3, 3)
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert outcome["run_id"] == run.pk


def test_a_run_is_progress_not_pending_from_its_first_moment(
    celery_worker: Any, warmer_registry: dict[str, Any], unthrottled: None
) -> None:
    gate = Gate(total=2, report_first=0)  # blocks before reporting anything itself
    register_warmer("slow", gate)
    [run] = enqueue(["slow"], trigger="test")
    assert gate.reached.wait(WAIT)
    result = AsyncResult(run.task_id)
    assert result.state == "PROGRESS"
    assert result.info["current"] == 0
    gate.release.set()
    assert result.get(timeout=WAIT)["keys_written"] == 2


def test_warm_all_fans_out_one_task_per_warmer_as_a_group(
    celery_worker: Any, warmer_registry: dict[str, Any], unthrottled: None
) -> None:
    for name in ("products", "categories", "featured"):
        register_warmer(name, lambda progress, n=name: [f"{n}:1", f"{n}:2"])
    runs = enqueue(["products", "categories", "featured", "products"], trigger="test")
    assert [r.warmer for r in runs] == ["products", "categories", "featured"]
    assert len({r.task_id for r in runs}) == 3
    for run in runs:
        assert AsyncResult(run.task_id).get(timeout=WAIT)["keys_written"] == 2
    statuses = set(WarmRun.objects.values_list("status", flat=True))
    assert statuses == {WarmRun.SUCCEEDED}


def test_a_failing_warmer_fails_its_task_and_its_run(
    celery_worker: Any, warmer_registry: dict[str, Any]
) -> None:
    def broken(progress: Progress) -> int:
        raise ValueError("no products table")

    register_warmer("broken", broken)
    [run] = enqueue(["broken"], trigger="test")
    result = AsyncResult(run.task_id)
    with pytest.raises(Exception, match="no products table"):
        result.get(timeout=WAIT)
    assert result.state == "FAILURE"
    run.refresh_from_db()
    assert run.status == WarmRun.FAILED
    assert run.error == "ValueError: no products table"


def test_the_beat_entry_task_queues_every_warmer(
    celery_worker: Any, warmer_registry: dict[str, Any]
) -> None:
    register_warmer("products", lambda progress: 1)
    register_warmer("featured", lambda progress: 2)
    task_ids = warm_all.delay().get(timeout=WAIT)
    assert len(task_ids) == 2
    for task_id in task_ids:
        AsyncResult(task_id).get(timeout=WAIT)
    runs = WarmRun.objects.order_by("warmer")
    assert [(r.warmer, r.trigger, r.status, r.keys_written) for r in runs] == [
        ("featured", "celery beat", WarmRun.SUCCEEDED, 2),
        ("products", "celery beat", WarmRun.SUCCEEDED, 1),
    ]


def test_a_task_sent_without_a_run_row_records_its_own(
    celery_worker: Any, warmer_registry: dict[str, Any]
) -> None:
    register_warmer("featured", lambda progress: 4)
    result = warm.delay("featured", trigger="celery beat")
    assert result.get(timeout=WAIT)["keys_written"] == 4
    run = WarmRun.objects.get()
    assert run.task_id == result.id
    assert run.trigger == "celery beat"
    assert run.status == WarmRun.SUCCEEDED


def test_a_worker_answers_the_ping(celery_worker: Any) -> None:
    assert broker_problem(memo=False) is None
    assert worker_problem(memo=False) is None


def test_no_worker_is_reported_and_the_job_stays_queued(
    celery_test_app: Any, transactional_db: None, warmer_registry: dict[str, Any]
) -> None:
    register_warmer("products", lambda progress: 1)
    assert broker_problem(memo=False) is None
    problem = worker_problem(memo=False)
    assert problem is not None and "No Celery worker answered" in problem
    [run] = enqueue(["products"], trigger="test")
    run.refresh_from_db()
    assert run.status == WarmRun.QUEUED


def test_an_unreachable_broker_queues_nothing(
    celery_test_app: Any, transactional_db: None, warmer_registry: dict[str, Any]
) -> None:
    from celery import Celery

    from cache_admin.testing import free_port

    register_warmer("products", lambda progress: 1)
    down = Celery("down", broker=f"redis://user:secret@127.0.0.1:{free_port()}/1")
    down.set_current()
    try:
        problem = broker_problem(memo=False)
        assert problem is not None and "unreachable" in problem
        assert "secret" not in problem and "user:***@" in problem
        with pytest.raises(CeleryUnavailable, match="unreachable"):
            enqueue(["products"], trigger="test")
        assert not WarmRun.objects.exists()
    finally:
        celery_test_app.set_current()


def test_without_celery_configured_the_message_says_what_to_do(
    celery_test_app: Any, transactional_db: None, warmer_registry: dict[str, Any]
) -> None:
    from celery import Celery

    register_warmer("products", lambda progress: 1)
    Celery("unconfigured").set_current()
    try:
        problem = broker_problem()
        assert problem is not None and "Celery is not configured" in problem
        assert "warm_cache" in problem
        with pytest.raises(CeleryUnavailable, match="not configured"):
            enqueue(["products"], trigger="test", check=False)
    finally:
        celery_test_app.set_current()


def test_a_run_whose_worker_was_lost_is_closed_not_left_running(
    celery_test_app: Any, transactional_db: None, warmer_registry: dict[str, Any]
) -> None:
    from billiard.exceptions import WorkerLostError

    from cache_admin.warming.runner import create_run
    from cache_admin.warming.status import warmer_rows

    register_warmer("products", lambda progress: 1)
    register_warmer("categories", lambda progress: 1)
    lost = create_run("products", trigger="test", task_id="lost-task")
    alive = create_run("categories", trigger="test", task_id="alive-task")
    WarmRun.objects.update(status=WarmRun.RUNNING)
    # What Celery records when the process running a task dies (prefork pool, SIGKILL).
    celery_test_app.backend.mark_as_failure(
        "lost-task", WorkerLostError("Worker exited prematurely: signal 9 (SIGKILL).")
    )
    celery_test_app.backend.store_result("alive-task", {"current": 1, "total": 2}, "PROGRESS")

    rows = {row.warmer.name: row for row in warmer_rows()}
    assert rows["products"].run is not None and rows["products"].run.pk == lost.pk
    assert rows["products"].run.status == WarmRun.FAILED
    assert "ended (FAILURE) before the run was recorded" in rows["products"].run.error
    assert not rows["products"].active
    assert rows["categories"].run is not None and rows["categories"].run.pk == alive.pk
    assert rows["categories"].run.status == WarmRun.RUNNING
