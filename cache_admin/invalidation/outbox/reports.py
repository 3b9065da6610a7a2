"""What the outbox logs during an outage: a line at once, then at most one a minute per
cache alias, so the log says what happens without drowning in it."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from cache_admin.background import on_fork

logger = logging.getLogger("cache_admin")

LOG_EVERY = 60.0  # seconds between repeated log lines of one outage


@dataclass
class _Reported:
    # Kept per alias across replays: a retry that fails again must not log again.
    dropped: int = 0  # dropped since the last report
    drops_at: float = -LOG_EVERY
    queue_at: float = -LOG_EVERY


_reported: dict[str, _Reported] = {}
_lock = threading.Lock()


@on_fork
def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()
    _reported.clear()


def queued(alias: str, *, dropped: int, size: int, limit: int, reason: str) -> None:
    """Entries were queued for ``alias`` (``dropped`` of them did not fit)."""
    with _lock:
        reported = _reported.setdefault(alias, _Reported())
        reported.dropped += dropped
        total_dropped = reported.dropped
        now = time.monotonic()
        report_drops = bool(total_dropped) and now - reported.drops_at >= LOG_EVERY
        report_queue = now - reported.queue_at >= LOG_EVERY
        if report_drops:
            reported.dropped, reported.drops_at = 0, now
        if report_queue:
            reported.queue_at = now
    if report_drops:
        logger.error(
            "Invalidation outbox for cache %r is full (%d entries, OUTBOX_MAX_KEYS): "
            "%d invalidations dropped; those keys stay until their TTL expires",
            alias,
            limit,
            total_dropped,
        )
    if report_queue:
        logger.warning(
            "Redis for cache %r unreachable (%s): invalidations queued (%d pending), "
            "replayed when it is back",
            alias,
            reason,
            size,
        )


def forget(alias: str) -> None:
    """All of ``alias``'s queue was replayed: its next outage is reported at once."""
    with _lock:
        _reported.pop(alias, None)


def clear() -> None:
    with _lock:
        _reported.clear()
