"""The read-through engine behind every pattern: one command per hit (P1), fills under a
lease with compare-and-set (C1), exceptions never cached (C3), fail-open behind the
breaker (R1).

A miss takes a lease *in the key itself*, in the read: ``SET key <lease> NX GET PX
LEASE_TIMEOUT`` answers the value of a hit and takes the lease of a miss in one round trip
(``link``). The value is then written by a Lua compare-and-set that only succeeds while the
key still holds that lease: a miss of an absent key costs two round trips. An invalidation
(DEL/UNLINK) issued while the value was being computed removes the lease, so the value
computed from old data is dropped instead of being written back for a whole TTL. Every
atomic step touches one key (Redis Cluster can route it).

A reader that finds someone else's lease polls for up to ``LEASE_WAIT`` seconds for the
value, then computes it itself and returns it without storing (one fill per key at a time).

Generation-enveloped slots (lists, querysets) store ``(tokens, value)`` and read the
generation tokens and the value in one pipelined round trip; a token mismatch is a miss
(the stale entry is replaced through a compare-and-set of the lease: one more round trip).
The tokens read with the value are the ones a fill stores: read before computing, so a bump
during the computation makes the entry a miss.

This module is the read side (the hit path, the miss's dispatch) and the entry points;
the fill side (lease, compute, compare-and-set, waiting for another fill, refresh in
place) is ``lease_fill``, and what a key holds (the value or its envelope) is
``envelope``.

Every miss is counted with its reason (``counter_totals.REASONS``) at one point, ``record_miss``.

Probabilistic early refresh (XFetch) is available per slot (``early_refresh`` = beta > 0):
the hit also reads PTTL in the same round trip, and a reader refreshes ahead of expiry
with a probability that grows as expiry nears and with the measured compute time. The
refreshed value replaces the old one only if the key still holds exactly the old value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from cache_admin import backend, cachelog, counter_totals, counters
from cache_admin.caching import early, read_choice, recorder
from cache_admin.caching.envelope import FRESH, STALE, current, ttl_ms, unwrap
from cache_admin.caching.lease_fill import (
    count,
    fill_leased,
    fill_or_wait,
    lease_left_behind,
    refresh_in_place,
    sent,
    wait_for_fill,
)
from cache_admin.caching.link import ABSENT, Link, Slot, Unreachable, sha
from cache_admin.conf import conf
from cache_admin.lease import LEASE_PREFIX, new_lease

__all__ = ["LEASE_PREFIX", "Slot", "fetch", "refresh", "store"]

T = TypeVar("T")


def fetch(slot: Slot, compute: Callable[[], T]) -> T:
    """The cached value of ``slot``, computing (and storing) it on a miss."""
    if recorder.active:  # a debug-toolbar panel records this request's calls
        return recorder.record(slot, compute, _read_through)
    return _read_through(slot, compute)


def _read_through(slot: Slot, compute: Callable[[], T]) -> T:
    try:
        link = Link(slot)
        found = link.read(slot)
    except Unreachable as exc:
        count(slot, "errors")
        if sent(exc):  # a read may take a lease: when the server answers late, it does
            lease_left_behind(link)
        return compute()
    except backend.NotRedisBackend:  # misconfigured: a system check says so; still serve
        if recorder.active:
            recorder.note_uncached()
        return compute()
    raw = found.raw
    if raw is None:
        record_miss(slot, counter_totals.ABSENT, link.counted)
        if found.lease is not None:
            return fill_leased(link, slot, compute, found.lease, current(found.tokens))
        return fill_or_wait(link, slot, compute, ABSENT, current(found.tokens))
    if raw.startswith(LEASE_PREFIX):
        record_miss(slot, counter_totals.LEASE_WAIT, link.counted)
        return wait_for_fill(link, slot, compute)
    state, value = unwrap(link, slot, raw, found.tokens)
    if state is FRESH:
        if link.counted:
            counters.record(slot.stat_type, "hits")
        cachelog.hit(slot.key)
        read_choice.note(slot.family, False)
        if found.pttl is not None and early.should_refresh(slot, found.pttl):
            return refresh_in_place(link, slot, raw, value, compute)
        return value  # type: ignore[no-any-return]
    stale = counter_totals.INVALIDATED if state is STALE else recorder.UNREADABLE
    record_miss(slot, stale, link.counted)
    return fill_or_wait(link, slot, compute, sha(raw), current(found.tokens))


def refresh(slot: Slot, compute: Callable[[], T]) -> T:
    """Compute now and store the result (unless an invalidation lands meanwhile)."""
    if recorder.active:
        return recorder.record(slot, compute, _refresh, recorder.REFRESH)
    return _refresh(slot, compute)


def _refresh(slot: Slot, compute: Callable[[], T]) -> T:
    lease = new_lease()
    try:
        link = Link(slot)
        px = max(1, int(conf.LEASE_TIMEOUT * 1000))
        link.run(link.client.set, link.stored, lease, px=px)
    except Unreachable as exc:
        count(slot, "errors")
        if sent(exc):
            lease_left_behind(link)
        return compute()
    except backend.NotRedisBackend:
        if recorder.active:
            recorder.note_uncached()
        return compute()
    return fill_leased(link, slot, compute, lease, None)


def store(slot: Slot, value: Any) -> bool:
    """Write ``value`` now over whatever the key holds, a fill's lease too: the write is
    newer than anything a fill computed (C1). False when Redis did not take it (it may
    still hold an older copy); True too for a cache that is not Redis (nothing is kept)."""
    assert not slot.generations, "store() writes plain values, not generation envelopes"
    try:
        link = Link(slot)
        px = ttl_ms(slot, link.cache)
        if px < 0:
            link.run(link.client.unlink, link.stored)
        else:
            data = backend.encode(value, link.cache)
            link.run(link.client.set, link.stored, data, px=px or None)
    except Unreachable:
        count(slot, "errors")
        return False
    except backend.NotRedisBackend:
        return True
    return True


def record_miss(slot: Slot, reason: str, counted: bool) -> None:
    """Every miss of the read-through engine passes here once, with its reason (one of
    ``counter_totals.REASONS``, or ``recorder.UNREADABLE``: a value the slot cannot serve, which
    the counters count with no reason): the per-type count (``counted``: not a key of the
    package's own namespace), the sampled log line, the read choice, and the request's
    record for the debug-toolbar panel."""
    if counted:
        counters.miss(slot.stat_type, reason if reason in counter_totals.REASONS else None)
    cachelog.miss(slot.key, reason)
    read_choice.note(slot.family, True)
    if recorder.active:
        recorder.note_miss(reason)
