"""Background prefix deletion: progress readable by anyone, S2, audit entry, bad ids."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.contrib.auth import get_user_model
from django.core.cache import BaseCache

from cache_admin import backend, deletion_jobs, stored_keys
from cache_admin.models import AuditEntry
from cache_admin.testing import RedisServer
from tests.redis_fixtures import held_job

pytestmark = pytest.mark.django_db(transaction=True)


def fill(client: redis.Redis, logical: list[str]) -> None:
    pipe = client.pipeline(transaction=False)
    for name in logical:
        pipe.set(stored_keys.stored_key(name), b"1")
    pipe.execute()


@pytest.fixture
def hold_after_first_step() -> Iterator[tuple[threading.Event, threading.Event]]:
    """The job stops after its first progress write until the test lets it go on."""
    with held_job(deletion_jobs.progress_hooks) as held:
        yield held


def test_job_deletes_in_the_background_with_visible_progress(
    cache_alias: str,
    redis_client: redis.Redis,
    settings: Any,
    hold_after_first_step: tuple[threading.Event, threading.Event],
    neighbour: BaseCache,
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 100}
    fill(redis_client, [f"product:{i}" for i in range(2000)] + ["category:1", "productx"])
    neighbour.set("product:1", "theirs")
    user = get_user_model().objects.create_user("ops", is_staff=True)
    reached, release = hold_after_first_step

    job_id = deletion_jobs.start("product:", user)
    assert reached.wait(30)
    running = deletion_jobs.status(job_id)
    assert running is not None and running.state == deletion_jobs.RUNNING and not running.done
    assert running.prefix == "product:" and running.user == "ops"
    assert running.deleted < 2000 and running.fraction < 1
    release.set()
    assert deletion_jobs.join(job_id, 30)

    done = deletion_jobs.status(job_id)
    assert done is not None and done.state == deletion_jobs.DONE and done.done
    assert done.deleted == 2000 and done.fraction == 1.0 and done.percent == 100
    assert done.finished is not None and done.finished >= done.started
    assert redis_client.exists(stored_keys.stored_key("category:1"))
    assert redis_client.exists(stored_keys.stored_key("productx"))
    assert neighbour.get("product:1") == "theirs"
    entry = AuditEntry.objects.get(action="delete_prefix")
    assert entry.user == user and entry.target == "product:" and entry.keys_affected == 2000
    assert entry.detail["job"] == job_id
    ttl = redis_client.ttl(deletion_jobs.job_key(job_id))
    assert 0 < ttl <= deletion_jobs.EXPIRE_SECONDS


def test_status_of_unknown_and_malformed_ids() -> None:
    assert deletion_jobs.status("0" * 32) is None
    for bad in ("", "../../etc/passwd", "A" * 32, "0" * 31, None, 5):
        with pytest.raises(ValueError, match="job id"):
            deletion_jobs.status(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("prefix", ["", "x" * 5000, None])
def test_unusable_prefixes_are_refused_before_starting(
    prefix: Any, redis_client: redis.Redis
) -> None:
    fill(redis_client, ["product:1"])
    with pytest.raises(ValueError):
        deletion_jobs.start(prefix)
    assert redis_client.exists(stored_keys.stored_key("product:1"))
    assert not AuditEntry.objects.exists()


def test_glob_characters_are_literal(redis_client: redis.Redis) -> None:
    fill(redis_client, ["a*:1", "ab:1", "a*b:2"])
    job_id = deletion_jobs.start("a*")
    assert deletion_jobs.join(job_id, 30)
    status = deletion_jobs.status(job_id)
    assert status is not None and status.deleted == 2
    assert redis_client.exists(stored_keys.stored_key("ab:1"))


def test_redis_lost_mid_job_fails_it_and_says_so(doomed_redis: RedisServer) -> None:
    from cache_admin.keyspace import RedisUnavailable

    stopped = threading.Event()

    def stop_server(job_id: str, progress: dict[str, int]) -> None:
        if not stopped.is_set():
            stopped.set()
            doomed_redis.stop()

    fill(backend.client(), [f"product:{i}" for i in range(500)])
    deletion_jobs.progress_hooks.append(stop_server)
    try:
        job_id = deletion_jobs.start("product:")
        assert deletion_jobs.join(job_id, 30)
    finally:
        deletion_jobs.progress_hooks.remove(stop_server)
    entry = AuditEntry.objects.get(action="delete_prefix")
    assert entry.detail["job"] == job_id and entry.detail.get("error")
    with pytest.raises(RedisUnavailable):
        deletion_jobs.status(job_id)


def test_a_silent_running_job_is_reported_stale(redis_client: redis.Redis) -> None:
    job_id = "f" * 32
    long_ago = time.time() - deletion_jobs.STALE_SECONDS - 60
    redis_client.hset(
        deletion_jobs.job_key(job_id),
        mapping={
            "prefix": "product:",
            "state": "running",
            "started": long_ago,
            "updated": long_ago,
        },
    )
    status = deletion_jobs.status(job_id)
    assert status is not None and status.stale and not status.done
