"""The fill side of the read-through engine (``fill``): a miss's value computed under its
lease and written by compare-and-set only while the key still holds that lease (C1),
nothing cached when the computation raises (C3); a reader that finds another's lease
waits for that fill; an early refresh replaces exactly the value it read; a lease that
cannot be given back is queued for deletion like an invalidation (R2)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from cache_admin import backend, breaker, counters, generations
from cache_admin.caching import early, recorder
from cache_admin.caching.envelope import FRESH, current, encode, ttl_ms, unwrap
from cache_admin.caching.link import ABSENT, Link, Slot, Unreachable, sha
from cache_admin.conf import conf
from cache_admin.invalidation import outbox
from cache_admin.lease import LEASE_PREFIX, new_lease

logger = logging.getLogger("cache_admin")

T = TypeVar("T")


def fill_or_wait(
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
        count(slot, "errors")
        if sent(exc):
            lease_left_behind(link)
        return compute()
    if acquired:
        return fill_leased(link, slot, compute, lease, tokens)
    return wait_for_fill(link, slot, compute)


def fill_leased(
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
        count(slot, "errors")
        if exc.answered:
            _release(link, mine)
        else:
            lease_left_behind(link)
        return compute()
    started = time.perf_counter()
    try:
        value = compute()
    except BaseException:
        _release(link, mine)  # C3: nothing is cached, the next caller tries again
        raise
    early.note_duration(slot, time.perf_counter() - started)
    try:
        data = encode(link, slot, tokens, value)
        px = ttl_ms(slot, link.cache)
        if link.swap(mine, data, px, slot.attribute) and px >= 0:
            count(slot, "fills")
    except Unreachable as exc:
        count(slot, "errors")
        if exc.answered:  # e.g. OOM for a large value: do not leave the lease behind
            _release(link, mine)
        else:
            lease_left_behind(link)
    except Exception as exc:  # an unpicklable value: serve it, cache nothing, say why
        logger.warning("cache value for %r could not be stored: %r", slot.key, exc)
        count(slot, "errors")
        _release(link, mine)
    return value


def wait_for_fill(link: Link, slot: Slot, compute: Callable[[], T]) -> T:
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
                    return fill_leased(link, slot, compute, found.lease, current(found.tokens))
                lease = new_lease()
                if link.acquire(ABSENT, lease):
                    return fill_leased(link, slot, compute, lease, current(found.tokens))
                continue
            state, value = unwrap(link, slot, raw, found.tokens)
            if state is FRESH:
                return value  # type: ignore[no-any-return]
            # A stale value landed (the fill computed before a bump, or a foreign write).
            lease = new_lease()
            if link.acquire(sha(raw), lease):
                return fill_leased(link, slot, compute, lease, current(found.tokens))
    except Unreachable as exc:
        count(slot, "errors")
        if sent(exc):  # a timed-out read or acquire may still take a lease
            lease_left_behind(link)
    # The other fill is slow: compute without storing rather than keep the caller waiting.
    return compute()


def refresh_in_place(link: Link, slot: Slot, raw: bytes, old: Any, compute: Callable[[], T]) -> T:
    try:
        tokens = _tokens_now(slot)
    except Unreachable:
        return old  # type: ignore[no-any-return]
    started = time.perf_counter()
    value = compute()  # an exception here propagates; the old value stays (C3)
    early.note_duration(slot, time.perf_counter() - started)
    try:
        # Only over exactly the value we read: an invalidation meanwhile wins (C1).
        data = encode(link, slot, tokens, value)
        if link.swap(sha(raw), data, ttl_ms(slot, link.cache), slot.attribute):
            count(slot, "fills")
    except Unreachable:
        count(slot, "errors")
    except Exception as exc:
        logger.warning("cache value for %r could not be stored: %r", slot.key, exc)
    return value


def _release(link: Link, lease_sha: str) -> None:
    try:
        link.swap(lease_sha, b"", -1)
    except Unreachable as exc:
        if not exc.answered:
            lease_left_behind(link)


def sent(exc: Unreachable) -> bool:
    """A call that timed out was sent: the server may still run it when it answers again."""
    return breaker.is_timeout(exc.__cause__)


def lease_left_behind(link: Link) -> None:
    """A lease written (or sent before a timeout) and never released would make every
    reader of the key wait LEASE_WAIT, then compute without storing, for LEASE_TIMEOUT. Its
    deletion is queued like an invalidation: replayed before the breaker closes again."""
    outbox.queue_keys([link.stored], alias=link.alias, reason="a fill's lease left behind")


def _tokens_now(slot: Slot) -> tuple[bytes, ...]:
    try:
        return tuple(generations.token_at(name).encode() for name in slot.generations)
    except backend.REDIS_ERRORS as exc:
        raise Unreachable from exc
    except backend.ERROR_REPLIES as exc:
        raise Unreachable(answered=True) from exc


def count(slot: Slot, event: str) -> None:
    if slot.counted:
        counters.record(slot.stat_type, event)
    if recorder.active:
        recorder.note(event)
