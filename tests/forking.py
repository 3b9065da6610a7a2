"""Run a function in a child made with os.fork(), as gunicorn and Celery's prefork pool
make their workers: the child has the parent's memory and only the forking thread."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cache_admin import background, breaker, counter_flush, counters, policy, policy_channel
from cache_admin.invalidation.outbox import pending, replaying, reports
from cache_admin.warming import health
from cache_admin.warming import registry as warmers


def fork_and_run(child: Callable[[], bytes], within: float = 20) -> bytes:
    """Run ``child`` in a forked process and return what it answered (its traceback if it
    raised); fail the test when it does not end within ``within`` seconds (a lock it
    inherited held, say)."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12 warns about fork() in a process with threads: that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            try:
                answer = child()
            except BaseException:
                answer = traceback.format_exc().encode()
            os.write(write_end, answer)
        finally:
            os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(read_end)
        pytest.fail("the forked child hung")
    with os.fdopen(read_end, "rb") as pipe:
        return pipe.read()


def package_locks() -> list[Any]:
    """Every lock of the package (as this process has them now)."""
    from cache_admin.invalidation import registrations

    return [
        pending._lock,
        replaying._replay_lock,
        reports._lock,
        registrations._attributes_lock,
        policy._snapshot.start_lock,
        policy._snapshot.reload_lock,
        policy_channel._process.lock,
        counter_flush.tally.lock,
        counter_flush.tally.flushing,
        breaker.breaker_for("default")._lock,
        background._jobs_lock,
        health._lock,
        warmers._discover_lock,
        *(worker._lock for worker in background.workers()),
    ]


def free_locks() -> int:
    """How many of the package's locks can be taken now (each is given back)."""
    free = 0
    for lock in package_locks():
        if lock.acquire(timeout=2):
            lock.release()
            free += 1
    return free


@contextlib.contextmanager
def held(locks: list[Any]) -> Iterator[None]:
    """A thread holds ``locks`` for the duration, as any thread of a busy process may
    hold one of them when another thread forks."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        for lock in locks:
            lock.acquire()
        taken.set()
        release.wait(120)
        for lock in reversed(locks):
            lock.release()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert taken.wait(10)
    try:
        yield
    finally:
        release.set()
        holder.join(10)


# What after_fork_probe() finds in a clean child whose parent has a cart override of 77.
CLEAN_CHILD = {
    "threads": [],  # none of the parent's threads came along
    "queued": 0,  # nor its outbox queue
    "tally": {},  # nor its counters
    "jobs": [],  # nor its deletion jobs
    "ttl": 77,  # the last known policy stays
    "flushed": True,
    "deleted": 0,
    "queued_after": 0,  # the deletion replayed nothing: there was nothing to replay
    "free_locks": True,
}


def after_fork_probe() -> dict[str, Any]:
    """In a forked child: what it inherited (threads, queue, tally, jobs: none expected),
    then whether every feature works (none of its locks held) and starts its own thread."""
    from cache_admin.invalidation import outbox

    found: dict[str, Any] = {
        "threads": sorted(w.name for w in background.workers() if w.thread is not None),
        "queued": outbox.pending_count(),
        "tally": counter_flush.pending(),
        "jobs": background.running_jobs(),
    }
    found["ttl"] = policy.ttl_for("cart", jitter=False)
    counters.record("cart", "misses")
    found["flushed"] = counters.flush()
    # A successful deletion replays whatever this process has queued.
    found["deleted"] = outbox.delete(["category:1"]).deleted
    found["queued_after"] = outbox.pending_count()
    found["free_locks"] = free_locks() == len(package_locks())
    return found
