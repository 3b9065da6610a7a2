"""A per-process circuit breaker per cache alias (R1).

After ``BREAKER_THRESHOLD`` consecutive connection failures the breaker opens and calls
skip Redis at once instead of paying a socket timeout each. After ``BREAKER_COOLDOWN``
seconds one trial call is let through; its success closes the breaker and runs the
recovery hooks (replay of invalidations issued during the outage, R2).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from cache_admin.background import on_fork
from cache_admin.conf import conf

__all__ = ["CLOSED", "HALF_OPEN", "OPEN", "Breaker", "breaker_for"]

logger = logging.getLogger("cache_admin")

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


class Breaker:
    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self.failures = 0
        self.opened_at: float | None = None
        self._trial_started: float | None = None
        self.last_error: str | None = None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return CLOSED
        if time.monotonic() - self.opened_at >= float(conf.BREAKER_COOLDOWN):
            return HALF_OPEN
        return OPEN

    def allow(self) -> bool:
        """Whether a call may go to Redis now. In half-open state one trial at a time."""
        if self.opened_at is None:
            return True
        with self._lock:
            if self.state == OPEN:
                return False
            now = time.monotonic()
            # A trial whose caller never reported back (an error the caller did not
            # expect) must not keep the breaker open for good: it expires after a cooldown.
            started = self._trial_started
            if started is not None and now - started < float(conf.BREAKER_COOLDOWN):
                return False
            self._trial_started = now
            return True

    def success(self) -> None:
        if self.opened_at is None and self.failures == 0:
            return
        recovered = self.opened_at is not None
        with self._lock:
            self.failures = 0
            self.opened_at = None
            self._trial_started = None
        if recovered:
            logger.warning("Redis for cache %r is reachable again", self.name)
            for hook in list(_recovery_hooks):
                try:
                    hook(self.name)
                except Exception:
                    logger.exception("cache recovery hook %r failed", hook)

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
            if self.opened_at is not None or self.failures >= int(conf.BREAKER_THRESHOLD):
                if self.opened_at is None:
                    logger.error(
                        "Redis for cache %r unreachable, breaker opens: %r", self.name, exc
                    )
                self.opened_at = time.monotonic()

    def reset(self) -> None:
        with self._lock:
            self.failures = 0
            self.opened_at = None
            self._trial_started = None


_breakers: dict[str, Breaker] = {}
_recovery_hooks: list[Callable[[str], None]] = []


@on_fork
def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time stays held in the child forever. The
    # states stay: the child reaches the same Redis as its parent did a moment ago.
    for found in _breakers.values():
        found._lock = threading.Lock()


def breaker_for(alias: str) -> Breaker:
    found = _breakers.get(alias)
    if found is None:
        found = _breakers.setdefault(alias, Breaker(alias))
    return found


def on_recovery(hook: Callable[[str], None]) -> Callable[[str], None]:
    """Register ``hook(alias)`` to run when a breaker closes after an outage."""
    if hook not in _recovery_hooks:
        _recovery_hooks.append(hook)
    return hook


def reset_all() -> None:
    for found in _breakers.values():
        found.reset()
