from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cache_admin import breaker
from cache_admin.breaker import CLOSED, HALF_OPEN, OPEN, Breaker, breaker_for, on_recovery


@pytest.fixture
def hooks() -> Iterator[list[str]]:
    calls: list[str] = []

    def hook(alias: str) -> None:
        calls.append(alias)

    def broken(alias: str) -> None:
        raise RuntimeError("hook failed")

    on_recovery(broken)
    on_recovery(hook)
    on_recovery(hook)  # registered once
    yield calls
    breaker._recovery_hooks.remove(hook)
    breaker._recovery_hooks.remove(broken)


def _cool_down(found: Breaker) -> None:
    # Moves the clock of the breaker rather than waiting for it.
    assert found.opened_at is not None
    found.opened_at -= 3600


def test_one_breaker_per_alias() -> None:
    assert breaker_for("x") is breaker_for("x")
    assert breaker_for("x") is not breaker_for("y")


def test_opens_after_the_threshold_of_consecutive_failures(settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "BREAKER_THRESHOLD": 3}
    found = Breaker("t")
    found.failure(ConnectionError("a"))
    found.failure(ConnectionError("b"))
    found.success()  # not consecutive any more
    found.failure(ConnectionError("c"))
    found.failure(ConnectionError("d"))
    assert found.state == CLOSED and found.allow()
    found.failure(ConnectionError("e"))
    assert found.state == OPEN
    assert found.allow() is False
    assert found.last_error == "ConnectionError('e')"


def test_half_open_lets_one_trial_through_and_success_closes(hooks: list[str]) -> None:
    found = Breaker("t")
    for _ in range(3):
        found.failure(None)
    _cool_down(found)
    assert found.state == HALF_OPEN
    assert found.allow() is True
    assert found.allow() is False  # one trial at a time
    found.success()
    assert found.state == CLOSED
    assert found.allow() is True
    assert hooks == ["t"]  # the broken hook did not stop the others


def test_a_failed_trial_opens_it_again(hooks: list[str]) -> None:
    found = Breaker("t")
    for _ in range(3):
        found.failure(None)
    _cool_down(found)
    assert found.allow() is True
    found.failure(None)
    assert found.state == OPEN
    assert found.allow() is False
    assert hooks == []


def test_concurrent_callers_get_a_single_trial() -> None:
    found = Breaker("t")
    for _ in range(3):
        found.failure(None)
    _cool_down(found)
    callers = 8
    barrier = threading.Barrier(callers)
    results: list[bool] = []

    def call() -> None:
        barrier.wait()
        results.append(found.allow())

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * (callers - 1) + [True]


def test_a_trial_that_never_reports_back_expires() -> None:
    found = Breaker("t")
    for _ in range(3):
        found.failure(None)
    _cool_down(found)
    assert found.allow() is True
    assert found.allow() is False
    assert found._trial_started is not None
    found._trial_started = time.monotonic() - 3600
    assert found.allow() is True


def test_success_without_failures_runs_no_hooks(hooks: list[str]) -> None:
    found = Breaker("t")
    found.success()
    found.failure(None)
    found.success()
    assert hooks == []
    assert found.failures == 0
