"""Every thread the package runs in the background, and their lifecycle in one place.

Long-lived loops are :class:`Worker` objects (the counters flusher, the TTL policy
listener, the outbox retry); one-off jobs (prefix deletions started from the console) run
through :func:`run_job`. ``docs/architecture.md`` lists them all. The rules, kept here so
that every thread follows them:

- Nothing starts at import: a worker starts on first use in each process.
- After ``fork()`` the child has none of the parent's threads (only the forking thread
  survives a fork). Every worker forgets its thread and gets fresh locks and events, the
  job registry is emptied, and the ``on_fork`` hooks of the modules reset their state
  (queues, tallies, their own locks), so a forked worker (gunicorn, Celery's prefork pool)
  inherits no queue, no half-held lock, and starts its own threads when it needs them.
- At interpreter exit the loops are told to stop (not waited for: a process must exit
  at once) and each worker's ``at_exit`` hook runs, e.g. the last counters flush.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
from collections.abc import Callable

logger = logging.getLogger("cache_admin")


class Worker:
    """One kind of long-lived daemon thread: at most one per process, started on first use.

    ``loop(worker)`` is the thread's body. It sleeps with :meth:`sleep`, which answers False
    once :meth:`stop` was called, and may end early through :meth:`exit_if` (the outbox
    retry runs only while something is queued).
    """

    def __init__(
        self,
        name: str,
        loop: Callable[[Worker], None],
        *,
        at_exit: Callable[[], object] | None = None,
    ) -> None:
        self.name = name
        self._loop = loop
        self._at_exit = at_exit
        self._fresh()
        _workers.append(self)

    def _fresh(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        # Read without the lock on hot paths (``if worker.thread is None: worker.start()``).
        self.thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start the thread unless it runs in this process; True when it started now."""
        with self._lock:
            if self.thread is not None:
                return False
            self._stopping = False
            thread = self.thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        thread.start()
        return True

    def _main(self) -> None:
        try:
            self._loop(self)
        except Exception:  # a loop is written never to raise: say so if one does
            logger.exception("background thread %s stopped on an error", self.name)
        finally:
            with self._lock:
                if self.thread is threading.current_thread():
                    self.thread = None

    @property
    def running(self) -> bool:
        thread = self.thread
        return thread is not None and thread.is_alive()

    def wake(self) -> None:
        self._wake.set()

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` or until woken; False when the loop is to end."""
        self._wake.wait(max(0.0, seconds))
        self._wake.clear()
        return not self._stopping

    @property
    def stopping(self) -> bool:
        return self._stopping

    def exit_if(self, condition: Callable[[], bool]) -> bool:
        """End the loop when ``condition()`` holds, atomically with :meth:`start`: a caller
        that starts the worker right after the condition stopped holding gets a thread."""
        with self._lock:
            if not condition():
                return False
            if self.thread is threading.current_thread():
                self.thread = None
            return True

    def stop(self, timeout: float | None = None) -> None:
        """End the loop and wait up to ``timeout`` for it (tests; a later start() restarts)."""
        with self._lock:
            thread = self.thread
            self._stopping = True
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


_workers: list[Worker] = []
_fork_hooks: list[Callable[[], None]] = []
_jobs: dict[str, threading.Thread] = {}
_jobs_lock = threading.Lock()


def workers() -> list[Worker]:
    return list(_workers)


def on_fork(hook: Callable[[], None]) -> Callable[[], None]:
    """Run ``hook()`` in a forked child, after the workers were reset, to reset module state."""
    if hook not in _fork_hooks:
        _fork_hooks.append(hook)
    return hook


def run_job(key: str, name: str, target: Callable[[], None]) -> threading.Thread:
    """Run ``target`` once in a daemon thread, findable by ``key`` until it ends."""

    def main() -> None:
        try:
            target()
        except Exception:  # the job's own errors are its to report; say that it ended so
            logger.exception("background job %s stopped on an error", name)
        finally:
            # Forgotten as soon as it ends: a long-lived worker process keeps no record
            # of every job it ever ran.
            with _jobs_lock:
                if _jobs.get(key) is threading.current_thread():
                    del _jobs[key]

    thread = threading.Thread(target=main, name=name, daemon=True)
    with _jobs_lock:
        _jobs[key] = thread
    thread.start()
    return thread


def job(key: str) -> threading.Thread | None:
    """The thread of a job started by this process that is still running, if any."""
    with _jobs_lock:
        return _jobs.get(key)


def join_job(key: str, timeout: float | None = None) -> bool:
    """Wait for a job started by this process; True when it has ended (or is not known)."""
    thread = job(key)
    if thread is None:
        return True
    thread.join(timeout)
    return not thread.is_alive()


def running_jobs() -> list[str]:
    with _jobs_lock:
        return list(_jobs)


def _after_fork_in_child() -> None:
    global _jobs_lock
    for worker in _workers:
        worker._fresh()
    _jobs_lock = threading.Lock()
    _jobs.clear()
    for hook in list(_fork_hooks):
        try:
            hook()
        except Exception:
            logger.exception("background fork hook %r failed", hook)


def _at_exit() -> None:
    for worker in _workers:
        worker._stopping = True
        worker._wake.set()
    for worker in _workers:
        if worker._at_exit is not None:
            # Settings gone or Redis away at shutdown: there is no one left to tell.
            with contextlib.suppress(Exception):
                worker._at_exit()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
