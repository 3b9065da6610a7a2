"""The background threads under Celery's prefork pool: a real worker process whose pool
child is forked while the main process runs every kind of thread, has an invalidation
queued and holds every lock (tests/celery_prefork.py)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from django.db import connection

from cache_admin import stored_keys
from cache_admin.models import TTLOverride
from tests.forking import CLEAN_CHILD

ROOT = Path(__file__).resolve().parents[1]
QUEUED = "product:1"  # queued in the worker's main process before it forks its child

pytestmark = [pytest.mark.celery, pytest.mark.slow]


@pytest.fixture
def prefork_worker(transactional_db: None, redis_url: str) -> Iterator[Celery]:
    """``celery worker --pool prefork -c 1`` in a process of its own, and a client app."""
    broker, results = f"{redis_url}/3", f"{redis_url}/4"
    _flush(broker, results)
    queue = f"prefork-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "CACHE_ADMIN_TEST_DB": str(connection.settings_dict["NAME"]),
        "PREFORK_BROKER": broker,
        "PREFORK_BACKEND": results,
        "PREFORK_QUEUE": queue,
        "PREFORK_QUEUED": QUEUED,
    }
    command = [sys.executable, "-m", "celery", "-A", "tests.celery_prefork", "worker"]
    command += ["--pool", "prefork", "--concurrency", "1", "--loglevel", "WARNING"]
    command += ["--without-heartbeat", "--without-mingle", "--without-gossip"]
    with tempfile.TemporaryFile() as log:
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        client = Celery("prefork-client", broker=broker, backend=results)
        client.conf.update(task_default_queue=queue, accept_content=["json"])
        try:
            yield client
        finally:
            worker.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(30)
            # Whatever is left of the worker's process group (a pool child stuck on a
            # lock it inherited, when this test fails) goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            client.close()
            log.seek(0)
            output = log.read().decode(errors="replace")
        _flush(broker, results)
        if worker.returncode not in (0, -signal.SIGTERM):
            pytest.fail(f"the worker ended with {worker.returncode}:\n{output}")


def _flush(*urls: str) -> None:
    for url in urls:
        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()


def _ttl(app: Celery, name: str) -> Any:
    return app.send_task("prefork.ttl", args=(name,)).get(timeout=30)


def test_a_pool_child_starts_its_own_threads_with_no_queue_and_free_locks(
    prefork_worker: Celery, redis_client: redis.Redis
) -> None:
    queued = stored_keys.stored_key(QUEUED)
    redis_client.set(queued, b"stale")
    TTLOverride.objects.create(cache_type="cart", ttl=77)
    # The first task waits for the worker to start (a minute at most on a loaded machine).
    found = json.loads(prefork_worker.send_task("prefork.probe").get(timeout=60))
    assert found.pop("pid") > 0
    assert found == {**CLEAN_CHILD, "running": ["cache-admin-counters", "cache-admin-policy"]}
    # The child's successful deletion replayed nothing the main process had queued.
    assert redis_client.get(queued) == b"stale"

    # A change reaches the pool child through its own listener, within about a second.
    row = TTLOverride.objects.get(cache_type="cart")
    row.ttl = 55
    row.save()
    deadline = time.monotonic() + 10
    while (seen := _ttl(prefork_worker, "cart")) != 55 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen == 55
