"""A per-process circuit breaker per cache alias (R1).

The breaker opens after ``BREAKER_THRESHOLD`` consecutive connection failures, or at once
on a timeout: a server that did not answer within the socket timeout is down for a cache,
and every other thread would pay the same wait. While it is open, calls skip Redis at once.

Recovery is one background probe per open breaker in each process: a thread that PINGs
the server every ``BREAKER_PROBE_INTERVAL`` seconds and, on the first answer, runs the
recovery hooks (the replay of invalidations issued meanwhile, R2) and closes the breaker.
Callers never wait for a probe, and no crowd of callers tries the server at once. Where no
probe can run (``BREAKER_PROBE_INTERVAL`` 0, or an alias with no Redis client to probe), one
caller at a time is let through after ``BREAKER_COOLDOWN`` seconds instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from cache_admin.background import on_fork, run_job
from cache_admin.client_errors import TIMEOUTS
from cache_admin.conf import conf

__all__ = ["CLOSED", "HALF_OPEN", "OPEN", "Breaker", "breaker_for", "on_recovery"]

logger = logging.getLogger("cache_admin")

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


class ProbeUnavailable(Exception):
    """Raised by a probe that cannot reach this alias at all (no such cache, not Redis)."""


Probe = Callable[[str], None]  # raises while the alias's server does not answer


def is_timeout(exc: BaseException | None) -> bool:
    # django-redis wraps the client's error in its own (ConnectionInterrupted).
    return isinstance(exc, TIMEOUTS) or isinstance(getattr(exc, "__cause__", None), TIMEOUTS)


class Breaker:
    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        # Invariant: opened_at is set only while failures >= 1.
        self.failures = 0
        self.opened_at: float | None = None
        self._trial_started: float | None = None
        self.last_error: str | None = None
        self._probing = False  # this process's probe thread runs (background.run_job)
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._closed.set()
        self.probe_unavailable = False  # the probe found nothing to probe: trials instead

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return CLOSED
        if not self._probing and self._trials() and self._cooled_down(time.monotonic()):
            return HALF_OPEN
        return OPEN

    def allow(self) -> bool:
        """Whether a call may go to Redis now (always, unless the breaker is open)."""
        if self.opened_at is None:
            return True
        if getattr(_recovering, "name", None) == self.name:
            return True  # the recovery hooks' own calls, before the breaker closes
        if self._probing or self._start_probe():
            return False
        with self._lock:
            # Without a probe: one trial at a time, once the cooldown has passed.
            now = time.monotonic()
            if self.opened_at is None:
                return True
            if not self._cooled_down(now):
                return False
            # A trial whose caller never reported back (an error the caller did not
            # expect) must not keep the breaker open for good: it expires after a cooldown.
            started = self._trial_started
            if started is not None and now - started < float(conf.BREAKER_COOLDOWN):
                return False
            self._trial_started = now
            return True

    def success(self) -> bool:
        """A call reached the server. After an outage, the recovery hooks run first (the
        replay of invalidations queued meanwhile), so that no caller reads an entry the
        outage left stale; then the breaker closes. Returns whether it is closed."""
        if self.opened_at is None:
            if self.failures:
                with self._lock:
                    self.failures = 0
            return True
        if getattr(_recovering, "name", None) == self.name:
            return False  # a call of the hooks: the breaker closes once they are done
        logger.warning("Redis for cache %r is reachable again", self.name)
        failures = self.failures
        _recovering.name = self.name
        try:
            for hook in list(_recovery_hooks):
                try:
                    hook(self.name)
                except Exception:
                    logger.exception("cache recovery hook %r failed", hook)
        finally:
            _recovering.name = None
        with self._lock:
            if self.failures > failures:  # Redis failed again during the hooks
                return False
            self.failures = 0
            self.opened_at = None
            self._trial_started = None
        self._closed.set()
        self._wake.set()  # a probe still waiting has nothing left to do
        return True

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the breaker is closed (at most ``timeout`` seconds); True if it is."""
        return self._closed.wait(timeout)

    def release(self) -> None:
        """End a half-open trial that proved nothing either way (our own error before or
        after the server was reached), so the next call may try at once."""
        with self._lock:
            self._trial_started = None

    def failure(self, exc: BaseException | None = None) -> None:
        with self._lock:
            self.failures += 1
            self._trial_started = None
            self.last_error = repr(exc) if exc is not None else None
            if self.opened_at is None and (
                is_timeout(exc) or self.failures >= int(conf.BREAKER_THRESHOLD)
            ):
                logger.error("Redis for cache %r unreachable, breaker opens: %r", self.name, exc)
                self.opened_at = time.monotonic()
                self._closed.clear()
            elif self.opened_at is not None:
                self.opened_at = time.monotonic()  # a failed trial: another cooldown
        if self.opened_at is not None:
            self._start_probe()

    def reset(self) -> None:
        with self._lock:
            self.failures = 0
            self.opened_at = None
            self._trial_started = None
            self.probe_unavailable = False
        self._closed.set()
        self._wake.set()

    def _cooled_down(self, now: float) -> bool:
        opened = self.opened_at
        return opened is None or now - opened >= float(conf.BREAKER_COOLDOWN)

    def _trials(self) -> bool:
        return self.probe_unavailable or _probe_interval() <= 0 or _prober is None

    def _start_probe(self) -> bool:
        """Start this process's probe thread if it should run; True when one is running."""
        if self._trials():
            return False
        with self._lock:
            if self._probing:
                return True
            if self.opened_at is None:
                return False
            self._probing = True
            self._wake.clear()
        run_job(f"breaker-probe:{self.name}", f"cache-admin-probe:{self.name}", self._probe_loop)
        return True

    def _probe_loop(self) -> None:
        try:
            while self.opened_at is not None:
                # The server has just failed: wait one interval before the first PING.
                self._wake.wait(_probe_interval())
                self._wake.clear()
                probe = _prober
                if self.opened_at is None or probe is None or _probe_interval() <= 0:
                    return
                try:
                    probe(self.name)
                except ProbeUnavailable as exc:
                    logger.warning(
                        "Cache %r cannot be probed (%s): trial calls instead", self.name, exc
                    )
                    self.probe_unavailable = True
                    return
                except Exception as exc:  # still down; the probe must not die of it
                    self.last_error = repr(exc)
                    continue
                if self.success():  # the recovery hooks run here, then it closes
                    return
        finally:
            with self._lock:
                self._probing = False
            _close_thread_connections()


def _close_thread_connections() -> None:
    # The recovery hooks read the database (queued invalidations) on this thread's own
    # connection; it must not outlive the thread.
    from django.db import connections

    connections.close_all()


def _probe_interval() -> float:
    return conf.BREAKER_PROBE_INTERVAL


_breakers: dict[str, Breaker] = {}
_recovering = threading.local()  # .name: the alias whose recovery hooks this thread runs
_recovery_hooks: list[Callable[[str], None]] = []
_prober: Probe | None = None


@on_fork
def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time stays held in the child forever, and the
    # parent's probe threads did not come along: the next allow() starts the child's own.
    # The states stay: the child reaches the same Redis as its parent did a moment ago.
    for found in _breakers.values():
        found._lock = threading.Lock()
        found._wake = threading.Event()
        found._closed = threading.Event()
        if found.opened_at is None:
            found._closed.set()
        found._probing = False  # background forgot the parent's jobs


def breaker_for(alias: str) -> Breaker:
    found = _breakers.get(alias)
    if found is None:
        found = _breakers.setdefault(alias, Breaker(alias))
    return found


def on_recovery(hook: Callable[[str], None]) -> Callable[[str], None]:
    """Register ``hook(alias)`` to run when Redis answers again after an outage, just
    before the breaker closes (the hook's own calls to Redis go through)."""
    if hook not in _recovery_hooks:
        _recovery_hooks.append(hook)
    return hook


def set_probe(probe: Probe | None) -> None:
    """The function the probe threads call: ``probe(alias)`` returns once the alias's server
    answers, raises while it does not, and raises ProbeUnavailable when it cannot probe."""
    global _prober
    _prober = probe


def reset_all() -> None:
    for found in _breakers.values():
        found.reset()
