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

import contextlib
import json
import os
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

from cache_admin import background, counters, policy, stored_keys  # noqa: E402
from cache_admin.invalidation import outbox  # noqa: E402
from tests.forking import after_fork_probe, held, package_locks  # noqa: E402

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

_forked: list[bool] = []  # the lock holder starts before the first child only


@worker_init.connect
def start_every_thread(**kwargs: Any) -> None:
    policy.ttl_for("cart")
    counters.record("cart", "hits")
    # Queued in the main process: never to be replayed by the child.
    outbox.queue_keys([stored_keys.stored_key(os.environ["PREFORK_QUEUED"])], alias="default")


_holding = contextlib.ExitStack()


@worker_before_create_process.connect
def hold_every_lock(**kwargs: Any) -> None:
    if not _forked:
        _forked.append(True)
        _holding.enter_context(held(package_locks()))


@worker_ready.connect
def let_go(**kwargs: Any) -> None:
    _holding.close()  # the child is forked by now


@app.task(name="prefork.probe")
def probe() -> str:
    found = after_fork_probe()
    found["pid"] = os.getpid()
    found["running"] = sorted(w.name for w in background.workers() if w.running)
    return json.dumps(found)


@app.task(name="prefork.ttl")
def ttl(name: str) -> int | None:
    return policy.ttl_for(name, jitter=False)
