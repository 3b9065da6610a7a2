"""What the read-through lookups of one request (or any block of code) did: per call the
key, its cache type, hit or miss and why, the wait on another process's fill, the fill,
the time. The debug-toolbar panel (``cache_admin.debug_toolbar``) shows it.

A record lives in a context variable, so concurrent requests (threads, asyncio tasks, and
the thread a sync view runs in under ASGI: ``sync_to_async`` copies the context) each see
their own. Nothing is recorded unless a record is open somewhere in the process: the hit
path then pays one read of the module global ``active``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from cache_admin.cachelog import shown
from cache_admin.caching.link import Slot
from cache_admin.counter_totals import ABSENT as ABSENT
from cache_admin.counter_totals import INVALIDATED as INVALIDATED
from cache_admin.counter_totals import LEASE_WAIT as LEASE_WAIT

T = TypeVar("T")

# Why a lookup missed, where the read-through engine can tell: the per-type counters'
# reasons (ABSENT, INVALIDATED, LEASE_WAIT), and one the counters count with no reason:
UNREADABLE = "unreadable"  # a value the slot cannot serve (another serializer, corrupted)

# Outcomes of one call:
HIT = "hit"
MISS = "miss"
EARLY_REFRESH = "early_refresh"  # a hit that recomputed ahead of expiry (early_refresh=)
REFRESH = "refresh"  # an explicit .refresh(): computed and stored, nothing read
UNREACHABLE = "unreachable"  # Redis did not answer: computed, nothing cached (fail-open)
UNCACHED = "uncached"  # not a Redis cache: computed every time (a system check says so)

active = 0  # records open in this process, any thread or task: the hit path's one check
_active_lock = threading.Lock()
_calls: ContextVar[list[Call] | None] = ContextVar("cache_admin_recorded_calls", default=None)
_current: ContextVar[Call | None] = ContextVar("cache_admin_recorded_call", default=None)
_depth: ContextVar[int] = ContextVar("cache_admin_recorded_depth", default=0)


@dataclass
class Call:
    key: str  # logical, as cachelog shows it (a session key cut short)
    cache_type: str  # the type's name, "" for a key of no type
    outcome: str = HIT
    reason: str = ""  # for a miss: ABSENT, INVALIDATED, LEASE_WAIT, UNREADABLE
    computed: bool = False  # the function (or query) behind the key ran
    filled: bool = False  # this call stored the value it computed
    errors: int = 0
    wait_ms: float = 0.0  # waiting on another process's fill (lease wait)
    compute_ms: float = 0.0  # running the function (or query) behind the key
    total_ms: float = 0.0
    depth: int = 0  # 1 for a lookup made inside another's function (its time is in both)
    # perf_counter() of the miss, while the call runs: the lease wait is measured from it
    missed_at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain data (the toolbar keeps panel stats as JSON)."""
        data = asdict(self)
        del data["missed_at"]
        return data


def start() -> Token[list[Call] | None]:
    """Open a record in the current context; ``stop()`` closes it and answers its calls."""
    global active
    with _active_lock:
        active += 1
    return _calls.set([])


def stop(token: Token[list[Call] | None]) -> list[Call]:
    global active
    calls = _calls.get() or []
    try:
        _calls.reset(token)
    except ValueError:  # closed from another context than it was opened in
        _calls.set(None)
    with _active_lock:
        active = max(0, active - 1)
    return calls


@contextmanager
def recording() -> Iterator[list[Call]]:
    """``with recording() as calls:`` the read-through calls of the block, in order."""
    token = start()
    calls = _calls.get()
    assert calls is not None
    try:
        yield calls
    finally:
        stop(token)


def record(
    slot: Slot,
    compute: Callable[[], T],
    fetch: Callable[[Slot, Callable[[], T]], T],
    outcome: str = HIT,  # until the lookup says otherwise
) -> T:
    """``fetch(slot, compute)``, recorded when the current context has a record open."""
    calls = _calls.get()
    if calls is None:  # another request of the process records, not this one
        return fetch(slot, compute)
    call = Call(shown(slot.key), slot.stat_type or "", outcome, depth=_depth.get())
    calls.append(call)
    started = time.perf_counter()

    def timed() -> T:
        began = time.perf_counter()
        call.computed = True
        if call.reason == LEASE_WAIT:
            call.wait_ms = (began - call.missed_at) * 1000
        elif call.outcome == HIT:  # computed on a hit: a refresh ahead of expiry
            call.outcome = EARLY_REFRESH
        # Lookups inside the function are calls of their own, one level deeper.
        inner, deeper = _current.set(None), _depth.set(call.depth + 1)
        try:
            return compute()
        finally:
            _current.reset(inner)
            _depth.reset(deeper)
            call.compute_ms = (time.perf_counter() - began) * 1000

    token = _current.set(call)
    try:
        return fetch(slot, timed)
    finally:
        _current.reset(token)
        ended = time.perf_counter()
        call.total_ms = (ended - started) * 1000
        if call.reason == LEASE_WAIT and not call.computed:  # served by the other fill
            call.wait_ms = (ended - call.missed_at) * 1000


def note_miss(reason: str) -> None:
    if (call := _current.get()) is not None:
        call.outcome, call.reason, call.missed_at = MISS, reason, time.perf_counter()


def note(event: str) -> None:
    """A counter event of the current call (``fills``, ``errors``)."""
    if (call := _current.get()) is None:
        return
    if event == "fills":
        call.filled = True
    elif event == "errors":
        call.errors += 1
        if call.outcome == HIT and not call.computed:  # before any answer: fail-open
            call.outcome = UNREACHABLE


def note_uncached() -> None:
    if (call := _current.get()) is not None:
        call.outcome = UNCACHED
