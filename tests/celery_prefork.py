"""A Celery worker of its own, on the prefork pool (``celery -A tests.celery_prefork worker
--pool prefork``), for tests/test_background_prefork.py.

Its main process starts every kind of the package's background thread and queues an
invalidation before the pool forks its child, and one of its threads holds every lock of
the package while the child is forked (as any thread of a busy process may): the child must
start its own threads, with an empty queue and free locks.

Environment: TEST_REDIS_URL and CACHE_ADMIN_TEST_DB (the test session's Redis and
database), PREFORK_BROKER, PREFORK_BACKEND, PREFORK_QUEUE (the task queue) and
PREFORK_QUEUED (a logical key the main process queues in the outbox).
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django
from django.conf import settings

settings.DATABASES["default"]["NAME"] = os.environ["CACHE_ADMIN_TEST_DB"]
settings.CACHE_ADMIN = {
    **settings.CACHE_ADMIN,
    # In memory only (a child may adopt rows from the database, by design), and no replay
    # by the main process itself: only a child that inherited the queue could replay it.
    "OUTBOX_DURABLE": False,
    "OUTBOX_RETRY_INTERVAL": 3600,
}
django.setup()

from celery import Celery  # noqa: E402
from celery.signals import worker_before_create_process, worker_init, worker_ready  # noqa: E402

from cache_admin import backend, background, counters, policy  # noqa: E402
from cache_admin.invalidation import outbox  # noqa: E402
from tests.forking import free_locks, package_locks  # noqa: E402

app = Celery("cache_admin_prefork")
app.conf.update(
    broker_url=os.environ["PREFORK_BROKER"],
    result_backend=os.environ["PREFORK_BACKEND"],
    task_default_queue=os.environ["PREFORK_QUEUE"],
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)

_forked = threading.Event()


@worker_init.connect
def start_every_thread(**kwargs: Any) -> None:
    policy.ttl_for("cart")
    counters.record("cart", "hits")
    # Queued in the main process: never to be replayed by the child.
    outbox.queue_keys([backend.stored_key(os.environ["PREFORK_QUEUED"])], alias="default")


@worker_before_create_process.connect
def hold_every_lock(**kwargs: Any) -> None:
    taken = threading.Event()

    def hold() -> None:
        locks = package_locks()
        for lock in locks:
            lock.acquire()
        taken.set()
        _forked.wait(60)
        for lock in reversed(locks):
            lock.release()

    if not _forked.is_set():
        threading.Thread(target=hold, daemon=True).start()
        taken.wait(10)


@worker_ready.connect
def let_go(**kwargs: Any) -> None:
    _forked.set()


@app.task(name="prefork.probe")
def probe() -> str:
    found: dict[str, Any] = {
        "pid": os.getpid(),
        "threads": sorted(w.name for w in background.workers() if w.thread is not None),
        "queued": outbox.pending_count(),
        "tally": counters.pending(),
    }
    found["ttl"] = policy.ttl_for("cart", jitter=False)
    counters.record("cart", "misses")
    found["flushed"] = counters.flush()
    found["deleted"] = outbox.delete(["category:1"]).deleted
    found["queued_after"] = outbox.pending_count()
    found["free_locks"] = free_locks() == len(package_locks())
    found["running"] = sorted(w.name for w in background.workers() if w.running)
    return json.dumps(found)


@app.task(name="prefork.ttl")
def ttl(name: str) -> int | None:
    return policy.ttl_for(name, jitter=False)
