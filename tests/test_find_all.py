"""Find all under a prefix: a background search of the whole keyspace, followed and cancelled
from any process, one at a time, failing cleanly when Redis goes away mid-way."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
import redis

from cache_admin import backend, job_state, stored_keys
from cache_admin.keyspace import find_all
from cache_admin.testing import RedisServer, populate
from tests import django_child

pytestmark = pytest.mark.django_db(transaction=True)


def stored(logical: str) -> bytes:
    return stored_keys.stored_key(logical).encode()


def test_finds_every_rare_key_in_the_whole_keyspace(
    redis_client: redis.Redis, settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 100}
    populate(redis_client, stored_keys.site_prefix() + "product:", 5000)
    rare = {f"rare:{i}" for i in range(9)}
    for name in rare:
        redis_client.set(stored(name), b"v", ex=300)
    redis_client.set(b"othersite:1:rare:9", b"v")  # another site's key is not this site's
    job_id = find_all.start("rare:")
    assert find_all.join(job_id, 60)
    status = find_all.status(job_id)
    assert status is not None and status.state == find_all.DONE and status.found == 9
    assert status.percent == 100 and not status.capped
    # Past every page's budget: the search walked the whole keyspace.
    assert status.scanned >= 5000
    infos = find_all.found_keys(job_id, 0, 100)
    assert {info.logical for info in infos} == rare
    assert all(info.ttl is not None and 0 < info.ttl <= 300 for info in infos)
    assert [i.logical for i in find_all.found_keys(job_id, 5, 100)] == [
        i.logical for i in infos[5:]
    ]
    assert find_all.running() is None  # the lock is released


def test_it_stops_at_its_limit_and_says_so(
    redis_client: redis.Redis, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(find_all, "MAX_FOUND", 50)
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 20}
    populate(redis_client, stored_keys.site_prefix() + "product:", 500)
    job_id = find_all.start("product:")
    assert find_all.join(job_id, 60)
    status = find_all.status(job_id)
    assert status is not None and status.found == 50 and status.capped
    assert redis_client.llen(find_all._items_key(job_id)) == 50


@pytest.mark.parametrize(
    ("prefix", "message"),
    [("", "Give a prefix"), ("p" * 1001, "at most 1000"), (None, "Give a prefix"), (5, "text")],
)
def test_a_bad_prefix_starts_nothing(redis_client: redis.Redis, prefix: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        find_all.start(prefix)
    assert find_all.running() is None
    assert not redis_client.keys(b"*find*")


@pytest.mark.parametrize("job_id", ["", "x" * 32, "A" * 32, "../../etc", "a" * 33])
def test_a_bad_search_id_is_a_message(job_id: str) -> None:
    with pytest.raises(ValueError, match="Not a search id"):
        find_all.status(job_id)


def test_cancel_from_another_process_while_a_second_start_waits(
    redis_client: redis.Redis,
    settings: Any,
    held_search: tuple[threading.Event, threading.Event],
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 50}
    populate(redis_client, stored_keys.site_prefix() + "product:", 3000)
    reached, release = held_search
    job_id = find_all.start("product:")
    assert reached.wait(30)
    with pytest.raises(job_state.AlreadyRunning) as busy:
        find_all.start("cart:")
    assert busy.value.job_id == job_id and find_all.running() == job_id
    script = """
        from cache_admin.keyspace import find_all
        found = find_all.status(sys.argv[1])
        keys = find_all.found_keys(sys.argv[1], 0, 1000)
        print(found.state, found.found, len(keys), find_all.cancel(sys.argv[1]))
    """
    state, found, listed, cancelled = django_child.run(script, job_id).split()
    assert state == "running" and 0 < int(found) == int(listed) < 3000 and cancelled == "True"
    release.set()
    assert find_all.join(job_id, 30)
    status = find_all.status(job_id)
    assert status is not None and status.state == find_all.CANCELLED
    assert status.found < 3000 and status.cancel_requested
    assert not find_all.cancel(job_id)  # over: nothing to cancel
    second = find_all.start("cart:")  # the lock is free again
    assert find_all.join(second, 30)


def test_redis_lost_mid_search_ends_the_job_and_frees_it(
    doomed_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    stopped = threading.Event()

    def stop_server(job_id: str, found: int) -> None:
        if not stopped.is_set():
            stopped.set()
            doomed_redis.stop()

    populate(backend.client(), stored_keys.site_prefix() + "product:", 500)
    find_all.batch_hooks.append(stop_server)
    caplog.set_level(logging.WARNING, logger="cache_admin")
    try:
        job_id = find_all.start("product:")
        assert find_all.join(job_id, 30)  # the thread ended: no hang, no retry loop
    finally:
        find_all.batch_hooks.remove(stop_server)
    assert f"search {job_id} under 'product:' failed" in caplog.text
    assert "could not be recorded" in caplog.text
    # The state it could not write: shown as a search that stopped answering.
    status = find_all.FindStatus(
        job_id, "product:", find_all.RUNNING, "", 10, 500, 10, False, "", time.time() - 600, False
    )
    assert status.stale and status.done


def test_a_search_failing_with_redis_up_records_why(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(redis_client, stored_keys.site_prefix() + "product:", 100)

    def refuse(job_id: str, found: int) -> None:
        raise redis.ResponseError("OOM command not allowed")

    find_all.batch_hooks.append(refuse)
    try:
        job_id = find_all.start("product:")
        assert find_all.join(job_id, 30)
    finally:
        find_all.batch_hooks.remove(refuse)
    status = find_all.status(job_id)
    assert status is not None and status.state == find_all.FAILED
    assert "OOM" in status.error and find_all.running() is None
