from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from cache_admin import backend, breaker
from cache_admin.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    Breaker,
    ProbeUnavailable,
    breaker_for,
    on_recovery,
)
from cache_admin.testing import RedisServer


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


@pytest.fixture
def trials(settings: Any) -> None:
    """No probe thread: the breaker lets one trial call through after its cooldown."""
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "BREAKER_PROBE_INTERVAL": 0}


class Probe:
    """The breaker's probe, answering as a server that is down until ``up`` is set."""

    def __init__(self) -> None:
        self.up = threading.Event()
        self.calls: list[str] = []  # names of the threads that probed
        self.unavailable = False

    def __call__(self, alias: str) -> None:
        self.calls.append(threading.current_thread().name)
        if self.unavailable:
            raise ProbeUnavailable("nothing to probe")
        if not self.up.is_set():
            raise redis.ConnectionError("down")


@pytest.fixture
def probe(settings: Any) -> Iterator[Probe]:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "BREAKER_PROBE_INTERVAL": 0.01}
    found = Probe()
    breaker.set_probe(found)
    yield found
    breaker.set_probe(backend.probe)


def _cool_down(found: Breaker) -> None:
    # Moves the clock of the breaker rather than waiting for it.
    assert found.opened_at is not None
    found.opened_at -= 3600


def _open(found: Breaker) -> None:
    for _ in range(3):
        found.failure(redis.ConnectionError("refused"))
    assert found.opened_at is not None


def _wait_closed(found: Breaker) -> None:
    assert found.wait_closed(10), "the probe did not close the breaker"
    assert found.state == CLOSED


def test_one_breaker_per_alias() -> None:
    assert breaker_for("x") is breaker_for("x")
    assert breaker_for("x") is not breaker_for("y")


def test_opens_after_the_threshold_of_consecutive_failures(settings: Any, trials: None) -> None:
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


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        TimeoutError("timed out"),
    ],
)
def test_a_timeout_opens_it_at_once(settings: Any, trials: None, error: Exception) -> None:
    # Every other thread would pay the same wait on a server that does not answer.
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "BREAKER_THRESHOLD": 3}
    found = Breaker("t")
    found.failure(error)
    assert found.state == OPEN and found.allow() is False


def test_a_wrapped_timeout_opens_it_at_once(trials: None) -> None:
    found = Breaker("t")
    try:
        try:
            raise redis.exceptions.TimeoutError("Timeout reading from socket")
        except redis.exceptions.TimeoutError as exc:
            raise RuntimeError("wrapped, as django-redis's ConnectionInterrupted") from exc
    except RuntimeError as wrapped:
        found.failure(wrapped)
    assert found.state == OPEN


def test_half_open_lets_one_trial_through_and_success_closes(
    hooks: list[str], trials: None
) -> None:
    found = Breaker("t")
    _open(found)
    _cool_down(found)
    assert found.state == HALF_OPEN
    assert found.allow() is True
    assert found.allow() is False  # one trial at a time
    found.success()
    assert found.state == CLOSED
    assert found.allow() is True
    assert hooks == ["t"]  # the broken hook did not stop the others


def test_a_failed_trial_opens_it_again(hooks: list[str], trials: None) -> None:
    found = Breaker("t")
    _open(found)
    _cool_down(found)
    assert found.allow() is True
    found.failure(None)
    assert found.state == OPEN
    assert found.allow() is False
    assert hooks == []


def test_concurrent_callers_get_a_single_trial(trials: None) -> None:
    found = Breaker("t")
    _open(found)
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


def test_a_trial_that_never_reports_back_expires(trials: None) -> None:
    found = Breaker("t")
    _open(found)
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


def test_the_probe_closes_it_and_runs_the_hooks_callers_never_try(
    probe: Probe, hooks: list[str]
) -> None:
    found = Breaker("t")
    _open(found)
    # Open for as long as the server is down: no caller is let through, whatever the
    # cooldown says, and only the probe thread tries the server.
    _cool_down(found)
    while len(probe.calls) < 3:
        assert found.allow() is False
        assert found.state == OPEN
        time.sleep(0.005)  # polling for the probe's calls, not ordering a race
    probe.up.set()
    _wait_closed(found)
    assert found.allow() is True
    assert hooks == ["t"]
    assert set(probe.calls) == {"cache-admin-probe:t"}


def test_one_probe_thread_per_breaker_however_many_callers(probe: Probe) -> None:
    found = Breaker("t")
    _open(found)
    callers = 8
    barrier = threading.Barrier(callers)
    answers: list[bool] = []

    def call() -> None:
        barrier.wait()
        for _ in range(200):
            answers.append(found.allow())
            found.failure(redis.ConnectionError("late failure of a call under way"))

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not any(answers)
    probes = [t for t in threading.enumerate() if t.name == "cache-admin-probe:t"]
    assert len(probes) == 1
    found.reset()  # the probe thread ends
    probes[0].join(5)
    assert not probes[0].is_alive()


def test_an_alias_that_cannot_be_probed_gets_trials(probe: Probe, hooks: list[str]) -> None:
    probe.unavailable = True
    found = Breaker("t")
    _open(found)
    deadline = time.monotonic() + 10
    while not found.probe_unavailable:
        assert time.monotonic() < deadline, "the probe never gave up"
        assert found.allow() is False
        time.sleep(0.005)  # polling for the probe thread's first call
    _cool_down(found)
    assert found.allow() is True  # a trial call, as without probes
    found.success()
    assert found.state == CLOSED and hooks == ["t"]


def test_the_real_probe_pings_the_alias_server(settings: Any) -> None:
    # backend.probe: a PING on the alias's own client, from the probe thread.
    server = RedisServer().start()
    try:
        alias = "probed"
        settings.CACHES = {
            **settings.CACHES,
            alias: {**settings.CACHES["default"], "LOCATION": f"{server.url}/0"},
        }
        settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "BREAKER_PROBE_INTERVAL": 0.05}
        found = breaker_for(alias)
        server.pause()
        _open(found)
        time.sleep(0.3)  # several probes meet the paused server (not ordering a race)
        assert found.state == OPEN
        server.resume()
        _wait_closed(found)
        with pytest.raises(ProbeUnavailable):
            backend.probe("nowhere")
        with pytest.raises(ProbeUnavailable):
            backend.probe("locmem")
    finally:
        server.stop()


def test_the_hooks_run_before_callers_are_let_through(probe: Probe) -> None:
    """The replay of what the outage left happens before any caller reads again: no read
    of an entry an invalidation during the outage should have removed."""
    found = Breaker("t")
    seen: list[tuple[str, bool, bool]] = []

    def hook(alias: str) -> None:
        others: list[bool] = []
        caller = threading.Thread(target=lambda: others.append(found.allow()))
        caller.start()
        caller.join()
        seen.append((found.state, found.allow(), others[0]))
        found.success()  # the hook's own successful call does not close it early

    on_recovery(hook)
    try:
        _open(found)
        probe.up.set()
        _wait_closed(found)
    finally:
        breaker._recovery_hooks.remove(hook)
    # During the hook: still open for callers; the hook's own calls go through.
    assert seen == [(OPEN, True, False)]


def test_a_failure_during_the_hooks_keeps_it_open(probe: Probe) -> None:
    found = Breaker("t")
    attempts: list[int] = []

    def hook(alias: str) -> None:
        attempts.append(1)
        if len(attempts) == 1:  # Redis goes away again in the middle of the replay
            found.failure(redis.ConnectionError("gone again"))

    on_recovery(hook)
    try:
        _open(found)
        probe.up.set()
        _wait_closed(found)  # the probe went on and the second recovery closed it
    finally:
        breaker._recovery_hooks.remove(hook)
    assert len(attempts) == 2
