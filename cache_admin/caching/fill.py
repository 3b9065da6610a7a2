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

Every miss is counted with its reason (``counters.REASONS``) at one point, ``record_miss``.

Probabilistic early refresh (XFetch) is available per slot (``early_refresh`` = beta > 0):
the hit also reads PTTL in the same round trip, and a reader refreshes ahead of expiry
with a probability that grows as expiry nears and with the measured compute time. The
refreshed value replaces the old one only if the key still holds exactly the old value.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import BaseCache

from cache_admin import backend, breaker, cachelog, counters, generations, policy
from cache_admin.caching import early, read_choice, recorder
from cache_admin.caching.link import ABSENT, Link, Slot, Unreachable, sha
from cache_admin.conf import conf
from cache_admin.invalidation import outbox
from cache_admin.lease import LEASE_PREFIX, new_lease

__all__ = ["LEASE_PREFIX", "Slot", "fetch", "refresh", "store"]

logger = logging.getLogger("cache_admin")

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
        _count(slot, "errors")
        if _sent(exc):  # a read may take a lease: when the server answers late, it does
            _lease_left_behind(link)
        return compute()
    except backend.NotRedisBackend:  # misconfigured: a system check says so; still serve
        if recorder.active:
            recorder.note_uncached()
        return compute()
    raw = found.raw
    if raw is None:
        record_miss(slot, counters.ABSENT, link.counted)
        if found.lease is not None:
            return _fill(link, slot, compute, found.lease, _current(found.tokens))
        return _fill_or_wait(link, slot, compute, ABSENT, _current(found.tokens))
    if raw.startswith(LEASE_PREFIX):
        record_miss(slot, counters.LEASE_WAIT, link.counted)
        return _wait_for_fill(link, slot, compute)
    state, value = _unwrap(link, slot, raw, found.tokens)
    if state is FRESH:
        if link.counted:
            counters.record(slot.stat_type, "hits")
        cachelog.hit(slot.key)
        read_choice.note(slot.family, False)
        if found.pttl is not None and early.should_refresh(slot, found.pttl):
            return _refresh_in_place(link, slot, raw, value, compute)
        return value  # type: ignore[no-any-return]
    stale = counters.INVALIDATED if state is STALE else recorder.UNREADABLE
    record_miss(slot, stale, link.counted)
    return _fill_or_wait(link, slot, compute, sha(raw), _current(found.tokens))


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
        _count(slot, "errors")
        if _sent(exc):
            _lease_left_behind(link)
        return compute()
    except backend.NotRedisBackend:
        if recorder.active:
            recorder.note_uncached()
        return compute()
    return _fill(link, slot, compute, lease, None)


def store(slot: Slot, value: Any) -> bool:
    """Write ``value`` now over whatever the key holds, a fill's lease too: the write is
    newer than anything a fill computed (C1). False when Redis did not take it (it may
    still hold an older copy); True too for a cache that is not Redis (nothing is kept)."""
    assert not slot.generations, "store() writes plain values, not generation envelopes"
    try:
        link = Link(slot)
        px = _ttl_ms(slot, link.cache)
        if px < 0:
            link.run(link.client.unlink, link.stored)
        else:
            data = backend.encode(value, link.cache)
            link.run(link.client.set, link.stored, data, px=px or None)
    except Unreachable:
        _count(slot, "errors")
        return False
    except backend.NotRedisBackend:
        return True
    return True


def _fill_or_wait(
    link: Link,
    slot: Slot,
    compute: Callable[[], T],
    expected: str,
    tokens: tuple[bytes, ...] | None,
) -> T:
    """Take the lease over what the read found (``expected``: its sha1, or ABSENT), then
    fill with the ``tokens`` read with it; else wait for the fill that holds the key."""
    lease = new_lease()
    try:
        acquired = link.acquire(expected, lease)
    except Unreachable as exc:
        _count(slot, "errors")
        if _sent(exc):
            _lease_left_behind(link)
        return compute()
    if acquired:
        return _fill(link, slot, compute, lease, tokens)
    return _wait_for_fill(link, slot, compute)


def _fill(
    link: Link,
    slot: Slot,
    compute: Callable[[], T],
    lease: bytes,
    tokens: tuple[bytes, ...] | None,
) -> T:
    """Compute and store under ``lease``; ``tokens``: the generation tokens read before
    the lease was taken (None: read them now, before computing)."""
    mine = sha(lease)
    try:
        # Read before computing: a bump during the computation then makes this entry a miss.
        if tokens is None:
            tokens = _tokens_now(slot)
    except Unreachable as exc:
        _count(slot, "errors")
        if exc.answered:
            _release(link, mine)
        else:
            _lease_left_behind(link)
        return compute()
    started = time.perf_counter()
    try:
        value = compute()
    except BaseException:
        _release(link, mine)  # C3: nothing is cached, the next caller tries again
        raise
    early.note_duration(slot, time.perf_counter() - started)
    try:
        data = _encode(link, slot, tokens, value)
        px = _ttl_ms(slot, link.cache)
        if link.swap(mine, data, px, slot.attribute) and px >= 0:
            _count(slot, "fills")
    except Unreachable as exc:
        _count(slot, "errors")
        if exc.answered:  # e.g. OOM for a large value: do not leave the lease behind
            _release(link, mine)
        else:
            _lease_left_behind(link)
    except Exception as exc:  # an unpicklable value: serve it, cache nothing, say why
        logger.warning("cache value for %r could not be stored: %r", slot.key, exc)
        _count(slot, "errors")
        _release(link, mine)
    return value


def _wait_for_fill(link: Link, slot: Slot, compute: Callable[[], T]) -> T:
    deadline = time.monotonic() + conf.LEASE_WAIT
    delay = 0.002
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.025)
            found = link.read(slot)
            raw = found.raw
            if raw is not None and raw.startswith(LEASE_PREFIX):
                continue
            if raw is None:  # the lease is gone (released, expired, invalidated)
                if found.lease is not None:
                    return _fill(link, slot, compute, found.lease, _current(found.tokens))
                lease = new_lease()
                if link.acquire(ABSENT, lease):
                    return _fill(link, slot, compute, lease, _current(found.tokens))
                continue
            state, value = _unwrap(link, slot, raw, found.tokens)
            if state is FRESH:
                return value  # type: ignore[no-any-return]
            # A stale value landed (the fill computed before a bump, or a foreign write).
            lease = new_lease()
            if link.acquire(sha(raw), lease):
                return _fill(link, slot, compute, lease, _current(found.tokens))
    except Unreachable as exc:
        _count(slot, "errors")
        if _sent(exc):  # a timed-out read or acquire may still take a lease
            _lease_left_behind(link)
    # The other fill is slow: compute without storing rather than keep the caller waiting.
    return compute()


def _refresh_in_place(link: Link, slot: Slot, raw: bytes, old: Any, compute: Callable[[], T]) -> T:
    try:
        tokens = _tokens_now(slot)
    except Unreachable:
        return old  # type: ignore[no-any-return]
    started = time.perf_counter()
    value = compute()  # an exception here propagates; the old value stays (C3)
    early.note_duration(slot, time.perf_counter() - started)
    try:
        # Only over exactly the value we read: an invalidation meanwhile wins (C1).
        data = _encode(link, slot, tokens, value)
        if link.swap(sha(raw), data, _ttl_ms(slot, link.cache), slot.attribute):
            _count(slot, "fills")
    except Unreachable:
        _count(slot, "errors")
    except Exception as exc:
        logger.warning("cache value for %r could not be stored: %r", slot.key, exc)
    return value


def _release(link: Link, lease_sha: str) -> None:
    try:
        link.swap(lease_sha, b"", -1)
    except Unreachable as exc:
        if not exc.answered:
            _lease_left_behind(link)


def _sent(exc: Unreachable) -> bool:
    """A call that timed out was sent: the server may still run it when it answers again."""
    return breaker.is_timeout(exc.__cause__)


def _lease_left_behind(link: Link) -> None:
    """A lease written (or sent before a timeout) and never released would make every
    reader of the key wait LEASE_WAIT, then compute without storing, for LEASE_TIMEOUT. Its
    deletion is queued like an invalidation: replayed before the breaker closes again."""
    outbox.queue_keys([link.stored], alias=link.alias, reason="a fill's lease left behind")


FRESH, STALE, UNREADABLE = "fresh", "stale", "unreadable"


def _unwrap(
    link: Link, slot: Slot, raw: bytes, tokens: tuple[bytes | None, ...]
) -> tuple[str, Any]:
    """FRESH and the value; STALE: an envelope of other generation tokens; UNREADABLE: not
    a value this slot can serve (another serializer, corrupted, not an envelope)."""
    try:
        value = backend.decode(raw, link.cache)
    except Exception as exc:  # written by another serializer or corrupted: recompute
        logger.warning("cache value for %r could not be decoded, recomputing: %r", slot.key, exc)
        return UNREADABLE, None
    if not slot.generations:
        return FRESH, value
    if not (type(value) is tuple and len(value) == 2):
        return UNREADABLE, None
    if None in tokens or value[0] != tokens:
        return STALE, None
    return FRESH, value[1]


def _current(tokens: tuple[bytes | None, ...]) -> tuple[bytes, ...] | None:
    """Tokens read with the lease, when every one exists (a missing one is created first)."""
    if None in tokens:
        return None
    return tokens  # type: ignore[return-value]


def _tokens_now(slot: Slot) -> tuple[bytes, ...]:
    try:
        return tuple(generations.token_at(name).encode() for name in slot.generations)
    except backend.REDIS_ERRORS as exc:
        raise Unreachable from exc
    except backend.ERROR_REPLIES as exc:
        raise Unreachable(answered=True) from exc


def _encode(link: Link, slot: Slot, tokens: tuple[bytes, ...], value: Any) -> bytes:
    if not slot.generations:
        return backend.encode(value, link.cache)
    return backend.encode((tokens, value), link.cache)


def _ttl_ms(slot: Slot, cache: BaseCache) -> int:
    """PX for the value: > 0 milliseconds, 0 for no expiry, -1 for "do not store"."""
    seconds: float | None = slot.timeout
    if seconds is None:
        seconds = policy.ttl_for(slot.cache_type)
        if seconds is None:
            seconds = backend.default_timeout(cache)
    if seconds is None:
        return 0
    if seconds <= 0:
        return -1
    return max(1, int(seconds * 1000))


def _count(slot: Slot, event: str) -> None:
    if slot.counted:
        counters.record(slot.stat_type, event)
    if recorder.active:
        recorder.note(event)


def record_miss(slot: Slot, reason: str, counted: bool) -> None:
    """Every miss of the read-through engine passes here once, with its reason (one of
    ``counters.REASONS``, or ``recorder.UNREADABLE``: a value the slot cannot serve, which
    the counters count with no reason): the per-type count (``counted``: not a key of the
    package's own namespace), the sampled log line, the read choice, and the request's
    record for the debug-toolbar panel."""
    if counted:
        counters.miss(slot.stat_type, reason if reason in counters.REASONS else None)
    cachelog.miss(slot.key, reason)
    read_choice.note(slot.family, True)
    if recorder.active:
        recorder.note_miss(reason)
