"""Per-type hit/miss/fill/error/invalidation counters, and misses by reason (P1).

``record()`` and ``miss()`` only add to this process's tally (``cache_admin.counter_flush``
writes it to Redis in the background), so a cache hit never pays an extra round trip for
its statistics; ``cache_admin.counter_totals`` reads the counts back. Counts from every
process add up in Redis, so the console, ``cache_stats`` and the Prometheus collector see
the whole site.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# Only record() and miss() live here: the tally and flush() are in counter_flush, the
# events and the reading back in counter_totals. The public names (docs/api.md) are
# promised here too.
from cache_admin.counter_flush import flush as flush
from cache_admin.counter_flush import flusher
from cache_admin.counter_flush import tally as _tally
from cache_admin.counter_totals import EVENTS as EVENTS
from cache_admin.counter_totals import REASONS as REASONS
from cache_admin.counter_totals import Counts as Counts
from cache_admin.counter_totals import totals as totals
from cache_admin.counter_totals import type_stats as type_stats

__all__ = [
    "EVENTS",
    "REASONS",
    "Counts",
    "flush",
    "lookups_not_counted",
    "miss",
    "record",
    "totals",
    "type_stats",
]

UNTYPED = "_untyped"


class _Lookups(threading.local):
    counted = True  # read on every lookup (caching.link): a class default, no getattr


lookups = _Lookups()


@contextmanager
def lookups_not_counted() -> Iterator[None]:
    """The read-through lookups of this thread inside the block count no hit and no miss:
    a warm run reads to fill, and its misses are not the site's (the fills it makes are
    still counted). Every warm run is made inside one."""
    before = lookups.counted
    lookups.counted = False
    try:
        yield
    finally:
        lookups.counted = before


def type_label(type_name: str | None) -> str:
    return type_name or UNTYPED


def record(type_name: str | None, event: str, n: int = 1) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown counter event {event!r}; expected one of {EVENTS}")
    tally = _tally
    # On the hit path: the field name is put together at flush time, not here.
    key = (int(time.time()) // 60, type_name or UNTYPED, event)
    with tally.lock:
        pending = tally.pending
        pending[key] = pending.get(key, 0) + n
    if flusher.thread is None:  # the first event of this process (or of a forked child)
        flusher.start()


def miss(type_name: str | None, reason: str | None = None) -> None:
    """Count one miss, and its reason (one of REASONS) when it is known."""
    if reason is not None and reason not in REASONS:
        raise ValueError(f"unknown miss reason {reason!r}; expected one of {REASONS}")
    tally = _tally
    minute, name = int(time.time()) // 60, type_name or UNTYPED
    with tally.lock:
        pending = tally.pending
        key = (minute, name, "misses")
        pending[key] = pending.get(key, 0) + 1
        if reason is not None:
            key = (minute, name, reason)
            pending[key] = pending.get(key, 0) + 1
    if flusher.thread is None:
        flusher.start()
