"""The TTL policy's locks: a forked child never inherits one held, and a reset never loses
to a reload in flight."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from cache_admin import policy
from cache_admin.breaker import breaker_for
from cache_admin.models import TTLOverride
from tests.forking import fork_and_run
from tests.policy_support import listener_stopped


@pytest.fixture
def quiet_listener() -> Iterator[None]:
    """The listener's steps, run by the test alone (request it after a database fixture)."""
    with listener_stopped():
        yield


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_runs_its_own_listener_even_if_a_lock_was_held(
    transactional_db: None,
) -> None:
    TTLOverride.objects.create(cache_type="cart", ttl=77)
    assert policy.ttl_for("cart", jitter=False) == 77
    parent_thread = policy.listener.thread
    held, release = threading.Event(), threading.Event()
    locks = [
        policy._snapshot.start_lock,
        policy._snapshot.reload_lock,
        breaker_for("default")._lock,
    ]

    def hold() -> None:
        for lock in locks:
            lock.acquire()
        held.set()
        release.wait()
        for lock in locks:
            lock.release()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()

    def child() -> bytes:
        ttl = policy.ttl_for("cart", jitter=False)
        breaker = breaker_for("default")
        breaker.failure(None)  # takes the breaker's lock
        breaker.reset()
        allowed = breaker.allow()
        thread = policy.listener.thread
        fresh = thread is not None and thread is not parent_thread and thread.is_alive()
        return f"{ttl} {allowed} {fresh}".encode()

    try:
        out = fork_and_run(child)
    finally:
        release.set()
        holder.join()
    assert out == b"77 True True"


def test_a_reset_never_loses_to_a_reload_in_flight(
    transactional_db: None, quiet_listener: None
) -> None:
    TTLOverride.objects.create(cache_type="cart", ttl=30)
    assert policy.overrides() == {"cart": 30}
    reading, go = threading.Event(), threading.Event()

    def hold(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        reading.set()
        go.wait()
        return execute(sql, params, many, context)

    def slow_reload() -> None:
        from django.db import connection as thread_connection

        try:
            with thread_connection.execute_wrapper(hold):
                policy.reload()
        finally:
            thread_connection.close()

    reloader = threading.Thread(target=slow_reload)
    reloader.start()
    reading.wait()  # the reload has read nothing yet and publishes after its query
    resetter = threading.Thread(target=policy.reset_for_tests)
    resetter.start()
    resetter.join(0.5)  # without the lock the reset would be over by now
    go.set()
    reloader.join()
    resetter.join()
    # The reset came second, so it wins: a reload that began before it never undoes it.
    assert policy._snapshot.overrides == {}
