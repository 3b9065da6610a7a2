"""The read-through engine behind every pattern: one GET per hit (P1), fills under a lease
with compare-and-set (C1), exceptions never cached (C3), fail-open behind the breaker (R1).

A miss takes a lease *in the key itself*: ``SET key <lease> NX PX LEASE_TIMEOUT``. The
value is then written by a Lua compare-and-set that only succeeds while the key still holds
that lease. An invalidation (DEL/UNLINK) issued while the value was being computed removes
the lease, so the value computed from old data is dropped instead of being written back
for a whole TTL. Every atomic step touches one key (Redis Cluster can route it).

A reader that finds someone else's lease polls for up to ``LEASE_WAIT`` seconds for the
value, then computes it itself and returns it without storing (one fill per key at a time).

Generation-enveloped slots (lists, querysets) store ``(tokens, value)`` and read the model
tokens and the value in one pipelined round trip; a token mismatch is a miss.

Probabilistic early refresh (XFetch) is available per slot (``early_refresh`` = beta > 0):
the hit also reads PTTL in the same round trip, and a reader refreshes ahead of expiry
with a probability that grows as expiry nears and with the measured compute time. The
refreshed value replaces the old one only if the key still holds exactly the old value.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import redis
from django.core.cache import BaseCache

from cache_admin import backend, breaker, cachelog, counters, generations, policy
from cache_admin.caching import early, recorder
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
        raw, tokens, pttl = link.read(slot)
    except Unreachable:
        _count(slot, "errors")
        return compute()
    except backend.NotRedisBackend:  # misconfigured: a system check says so; still serve
        if recorder.active:
            recorder.note_uncached()
        return compute()
    expected = ABSENT
    if raw is not None and not raw.startswith(LEASE_PREFIX):
        found, value = _unwrap(link, slot, raw, tokens)
        if found:
            if link.counted:
                counters.record(slot.stat_type, "hits")
            cachelog.hit(slot.key)
            if pttl is not None and early.should_refresh(slot, pttl):
                return _refresh_in_place(link, slot, raw, value, compute)
            return value  # type: ignore[no-any-return]
        expected = sha(raw)
    if raw is None:
        _miss(slot, recorder.ABSENT)
    elif raw.startswith(LEASE_PREFIX):
        _miss(slot, recorder.LEASE_WAIT)
        return _wait_for_fill(link, slot, compute)
    else:  # a generation-enveloped entry of older tokens, or a value that did not decode
        _miss(slot, recorder.INVALIDATED if slot.models else recorder.UNREADABLE)
    return _fill_or_wait(link, slot, compute, expected)


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
    return _fill(link, slot, compute, lease)


def store(slot: Slot, value: Any) -> bool:
    """Write ``value`` now over whatever the key holds, a fill's lease too: the write is
    newer than anything a fill computed (C1). False when Redis did not take it (it may
    still hold an older copy); True too for a cache that is not Redis (nothing is kept)."""
    assert not slot.models, "store() writes plain values, not generation envelopes"
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


def _fill_or_wait(link: Link, slot: Slot, compute: Callable[[], T], expected: str) -> T:
    lease = new_lease()
    try:
        acquired = link.acquire(expected, lease)
    except Unreachable as exc:
        _count(slot, "errors")
        if _sent(exc):
            _lease_left_behind(link)
        return compute()
    if acquired:
        return _fill(link, slot, compute, lease)
    return _wait_for_fill(link, slot, compute)


def _fill(link: Link, slot: Slot, compute: Callable[[], T], lease: bytes) -> T:
    mine = sha(lease)
    try:
        # Read before computing: a bump during the computation then makes this entry a miss.
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
            raw, tokens, _pttl = link.read(slot)
            if raw is not None and raw.startswith(LEASE_PREFIX):
                continue
            expected = ABSENT
            if raw is not None:
                found, value = _unwrap(link, slot, raw, tokens)
                if found:
                    return value  # type: ignore[no-any-return]
                expected = sha(raw)
            # The lease is gone (released, expired, invalidated) or a stale value landed.
            lease = new_lease()
            if link.acquire(expected, lease):
                return _fill(link, slot, compute, lease)
    except Unreachable as exc:
        _count(slot, "errors")
        if _sent(exc):  # a timed-out acquire (or read: then harmless) may still land
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


def _unwrap(link: Link, slot: Slot, raw: bytes, tokens: Sequence[bytes | None]) -> tuple[bool, Any]:
    try:
        value = backend.decode(raw, link.cache)
    except Exception as exc:  # written by another serializer or corrupted: recompute
        logger.warning("cache value for %r could not be decoded, recomputing: %r", slot.key, exc)
        return False, None
    if not slot.models:
        return True, value
    if None in tokens or not (isinstance(value, tuple) and len(value) == 2):
        return False, None
    current = tuple(t.decode() for t in tokens if t is not None)
    if tuple(value[0]) != current:
        return False, None
    return True, value[1]


def _tokens_now(slot: Slot) -> tuple[str, ...]:
    try:
        return tuple(generations.token(model) for model in slot.models)
    except backend.REDIS_ERRORS as exc:
        raise Unreachable from exc
    except redis.RedisError as exc:
        raise Unreachable(answered=True) from exc


def _encode(link: Link, slot: Slot, tokens: tuple[str, ...], value: Any) -> bytes:
    if not slot.models:
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


def _miss(slot: Slot, reason: str) -> None:
    """Every miss passes here once, with its reason (``recorder``'s constants)."""
    _count(slot, "misses")
    cachelog.miss(slot.key)
    if recorder.active:
        recorder.note_miss(reason)
