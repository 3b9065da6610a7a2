"""The package's background threads: one lifecycle (start on use, stop, exit_if), one-off
jobs that leave no record behind, and forked children (gunicorn) that inherit no thread,
no queue and no held lock."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from cache_admin import (
    background,
    counters,
    deletion_jobs,
    policy,
    stored_keys,
)
from cache_admin.invalidation import outbox
from cache_admin.invalidation.outbox import retry
from cache_admin.models import TTLOverride
from tests.forking import CLEAN_CHILD, after_fork_probe, fork_and_run, held, package_locks


def test_a_worker_runs_once_per_process_and_stops_on_request() -> None:
    rounds: list[int] = []
    looping = threading.Event()

    def loop(worker: background.Worker) -> None:
        while worker.sleep(60):
            rounds.append(1)
            looping.set()

    worker = background.Worker("test-worker", loop)
    try:
        assert worker.start() is True
        assert worker.start() is False  # one thread per process
        worker.wake()
        assert looping.wait(10)
        worker.stop(timeout=10)
        assert not worker.running and worker.thread is None
        assert rounds == [1]
        assert worker.start() is True  # a stopped worker starts again on use
        assert worker.running
    finally:
        worker.stop(timeout=10)
        background._workers.remove(worker)


def test_a_worker_that_ends_itself_never_misses_a_start() -> None:
    # The loop decides to end (nothing to do) while a caller queues work and starts it:
    # exit_if and start are atomic, so the caller always gets a running thread.
    work: list[str] = []
    deciding, decided = threading.Event(), threading.Event()

    def loop(worker: background.Worker) -> None:
        while worker.sleep(0):

            def idle() -> bool:
                deciding.set()
                decided.wait(10)  # the caller's start() runs now, blocked on the lock
                return not work

            if worker.exit_if(idle):
                return

    worker = background.Worker("test-exit-if", loop)
    try:
        worker.start()
        assert deciding.wait(10)
        starter = threading.Thread(target=lambda: (work.append("x"), worker.start()))
        starter.start()
        starter.join(0.2)
        assert starter.is_alive()  # waits for the loop's decision
        decided.set()
        starter.join(10)
        # The condition ran with nothing queued: the loop ended, and start() made a new one.
        assert worker.running
    finally:
        worker.stop(timeout=10)
        background._workers.remove(worker)


def test_a_job_is_forgotten_when_it_ends_even_on_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()
    ok = background.run_job("ok", "test-job-ok", lambda: release.wait(10) and None)

    def fail() -> None:
        raise RuntimeError("boom")

    background.run_job("fail", "test-job-fail", fail).join(10)
    assert "background job test-job-fail stopped on an error" in caplog.text
    assert background.job("ok") is ok and background.running_jobs() == ["ok"]
    release.set()
    ok.join(10)
    assert background.job("ok") is None
    assert background.running_jobs() == []


@pytest.mark.django_db(transaction=True)
def test_deletion_jobs_leave_no_record_in_a_long_lived_process(redis_client: redis.Redis) -> None:
    for i in range(20):
        redis_client.set(stored_keys.stored_key(f"product:{i}"), b"1")
    started = [deletion_jobs.start(f"product:{i}") for i in range(5)]
    for job_id in started:
        thread = background.job(job_id)
        if thread is not None:  # not over yet
            thread.join(30)
    assert all(deletion_jobs.status(job_id).state == deletion_jobs.DONE for job_id in started)  # type: ignore[union-attr]
    assert background.running_jobs() == []


@pytest.fixture
def busy_parent(
    transactional_db: None, redis_client: redis.Redis, settings: Any
) -> Iterator[Callable[[], str]]:
    """A process with every kind of background thread running: a TTL override loaded by
    the policy listener, counters waiting for the flusher, an invalidation queued in the
    outbox (its retry thread running), a deletion job held mid-run."""
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        # In memory only: a forked child may adopt rows from the database, by design.
        "OUTBOX_DURABLE": False,
        # The retry thread runs but does not replay during the test: only a child that
        # inherited the queue could delete the queued key.
        "OUTBOX_RETRY_INTERVAL": 3600,
    }
    TTLOverride.objects.create(cache_type="cart", ttl=77)
    assert policy.ttl_for("cart", jitter=False) == 77
    counters.record("cart", "hits")
    queued = stored_keys.stored_key("product:1")
    redis_client.set(queued, b"stale")
    outbox.queue_keys([queued], alias="default")
    assert retry.retrier.running
    for i in range(3):
        redis_client.set(stored_keys.stored_key(f"reco:{i}"), b"1")
    reached, release = threading.Event(), threading.Event()

    def hold(job_id: str, progress: dict[str, int]) -> None:
        reached.set()
        release.wait(60)

    deletion_jobs.progress_hooks.append(hold)
    job_id = deletion_jobs.start("reco:")
    assert reached.wait(10)
    try:
        yield lambda: queued
    finally:
        release.set()
        deletion_jobs.join(job_id, 30)
        deletion_jobs.progress_hooks.remove(hold)
        outbox.clear()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_inherits_no_thread_no_queue_and_no_held_lock(
    busy_parent: Callable[[], str], redis_client: redis.Redis
) -> None:
    queued = busy_parent()
    parent_threads = {worker.name: worker.thread for worker in background.workers()}
    assert all(parent_threads.values())

    def child() -> bytes:
        found = after_fork_probe()
        outbox.queue_keys([stored_keys.stored_key("category:2")], alias="default")
        found["queued_own"] = outbox.pending_count()
        found["fresh"] = sorted(
            w.name
            for w in background.workers()
            if w.running and w.thread is not parent_threads.get(w.name)
        )
        return json.dumps(found).encode()

    with held(package_locks()):
        answer = fork_and_run(child)
    try:
        found = json.loads(answer)
    except ValueError:
        pytest.fail(answer.decode())
    assert found == {
        **CLEAN_CHILD,
        "queued_own": 1,
        "fresh": ["cache-admin-counters", "cache-admin-outbox", "cache-admin-policy"],
    }
    # The child's successful deletion replayed nothing of its parent's queue.
    assert redis_client.get(queued) == b"stale"
    assert outbox.pending_count("default") == 1  # the parent's own, still here
