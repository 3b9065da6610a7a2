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

import contextlib
import hashlib
import logging
import math
import random
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.core.cache import BaseCache
from django.db import models
from redis.commands.core import Script

from cache_admin import backend, cachelog, counters, generations, policy
from cache_admin.breaker import Breaker
from cache_admin.conf import conf
from cache_admin.types import CacheType

logger = logging.getLogger("cache_admin")

T = TypeVar("T")

# A lease is stored in the key it guards. The NUL byte keeps it apart from anything a
# Django serializer writes (pickle starts with 0x80, integers are digits).
LEASE_PREFIX = b"\x00cache_admin-lease:"

# KEYS[1]: the key. ARGV: sha1 of the expected current bytes, new bytes, PX in ms
# (> 0: expire, "0": no expiry, "-1": delete). Returns 1 when the swap happened.
_SWAP = """
local current = redis.call('GET', KEYS[1])
if not current or redis.sha1hex(current) ~= ARGV[1] then return 0 end
local px = tonumber(ARGV[3])
if px < 0 then
  redis.call('DEL', KEYS[1])
elseif px == 0 then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', px)
end
return 1
"""
_swap_script: Script | None = None

# Recent compute times per slot family, for early refresh (seconds, moving average).
_durations: dict[str, float] = {}

ABSENT = ""  # the "expected" of an acquire on a key that holds nothing


class Slot:
    """What one lookup needs to know about its entry (built per call: a plain slotted class)."""

    __slots__ = ("cache_type", "early_refresh", "family", "key", "models", "timeout")

    def __init__(
        self,
        key: str,
        cache_type: CacheType | None = None,
        timeout: float | None = None,  # explicit; None: the type's policy, else cache default
        models: tuple[type[models.Model], ...] = (),
        family: str = "",
        early_refresh: float = 0.0,
    ) -> None:
        self.key = key  # logical
        self.cache_type = cache_type
        self.timeout = timeout
        self.models = models
        self.family = family
        self.early_refresh = early_refresh

    @property
    def stat_type(self) -> str | None:
        return self.cache_type.name if self.cache_type is not None else None

    @property
    def counted(self) -> bool:
        # The package's own keys never show in per-type statistics.
        return not self.key.startswith(_namespace())


_NOT_READ = object()
_namespace_memo: tuple[object, str] = (_NOT_READ, "")


def _namespace(current: object = None) -> str:
    # On the hit path: re-read only when the settings (or backend.current()) changed.
    global _namespace_memo
    owner = current if current is not None else getattr(settings, "CACHE_ADMIN", None)
    memo = _namespace_memo
    if memo[0] is owner:
        return memo[1]
    found = str(conf.NAMESPACE)
    _namespace_memo = (owner, found)
    return found


class _Unreachable(Exception):
    """Redis did not do what was asked. ``answered``: the server replied with an error
    (WRONGTYPE, OOM...), so it is there to clean up after us."""

    def __init__(self, answered: bool = False) -> None:
        super().__init__()
        self.answered = answered


class _Link:
    """One cache, its raw client and breaker, for the duration of one lookup."""

    __slots__ = ("breaker", "cache", "client", "counted", "stored")

    def __init__(self, slot: Slot) -> None:
        current = backend.current()  # memoized per thread: the hit path skips the look-ups
        self.cache: BaseCache = current.cache
        self.breaker: Breaker = current.breaker
        self.client: redis.Redis = current.client
        self.stored: str = current.stored_key(slot.key)
        self.counted = not slot.key.startswith(_namespace(current))

    def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self.breaker.allow():
            raise _Unreachable
        try:
            result = call(*args, **kwargs)
        except backend.REDIS_ERRORS as exc:
            self.breaker.failure(exc)
            raise _Unreachable from exc
        except redis.RedisError as exc:  # the server answered (WRONGTYPE, NOSCRIPT...)
            self.breaker.success()
            logger.warning("cache key %r not usable for read-through: %r", self.stored, exc)
            raise _Unreachable(answered=True) from exc
        self.breaker.success()
        return result

    def swap(self, expected: str, data: bytes, px: int) -> bool:
        global _swap_script
        script = _swap_script
        if script is None:
            script = _swap_script = Script(self.client, _SWAP)
        return bool(
            self.run(script, keys=[self.stored], args=[expected, data, px], client=self.client)
        )

    def acquire(self, expected: str, lease: bytes) -> bool:
        px = max(1, int(float(conf.LEASE_TIMEOUT) * 1000))
        if expected == ABSENT:
            return bool(self.run(self.client.set, self.stored, lease, nx=True, px=px))
        return self.swap(expected, lease, px)

    def read(self, slot: Slot) -> tuple[bytes | None, list[bytes | None], int | None]:
        """The raw value, the model tokens and (for early refresh) its PTTL: one round trip."""
        if not slot.models and not slot.early_refresh:
            raw: bytes | None = self.run(self.client.get, self.stored)  # type: ignore[assignment]
            return raw, [], None
        pipe = self.client.pipeline(transaction=False)
        for model in slot.models:
            pipe.get(backend.stored_key(generations.key(model), self.cache))
        pipe.get(self.stored)
        if slot.early_refresh:
            pipe.pttl(self.stored)
        found = self.run(pipe.execute)
        n = len(slot.models)
        pttl = int(found[n + 1]) if slot.early_refresh else None
        return found[n], list(found[:n]), pttl


def sha(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def fetch(slot: Slot, compute: Callable[[], T]) -> T:
    """The cached value of ``slot``, computing (and storing) it on a miss."""
    try:
        link = _Link(slot)
        raw, tokens, pttl = link.read(slot)
    except _Unreachable:
        _count(slot, "errors")
        return compute()
    except backend.NotRedisBackend:  # misconfigured: a system check says so; still serve
        return compute()
    expected = ABSENT
    if raw is not None and not raw.startswith(LEASE_PREFIX):
        found, value = _unwrap(link, slot, raw, tokens)
        if found:
            if link.counted:
                counters.record(slot.stat_type, "hits")
            cachelog.hit(slot.key)
            if pttl is not None and _refresh_early(slot, pttl):
                return _refresh_in_place(link, slot, raw, value, compute)
            return value  # type: ignore[no-any-return]
        expected = sha(raw)
    _count(slot, "misses")
    cachelog.miss(slot.key)
    if raw is not None and raw.startswith(LEASE_PREFIX):
        return _wait_for_fill(link, slot, compute)
    return _fill_or_wait(link, slot, compute, expected)


def refresh(slot: Slot, compute: Callable[[], T]) -> T:
    """Compute now and store the result (unless an invalidation lands meanwhile)."""
    lease = LEASE_PREFIX + secrets.token_hex(8).encode()
    try:
        link = _Link(slot)
        px = max(1, int(float(conf.LEASE_TIMEOUT) * 1000))
        link.run(link.client.set, link.stored, lease, px=px)
    except _Unreachable:
        _count(slot, "errors")
        return compute()
    except backend.NotRedisBackend:
        return compute()
    return _fill(link, slot, compute, lease)


def _fill_or_wait(link: _Link, slot: Slot, compute: Callable[[], T], expected: str) -> T:
    lease = LEASE_PREFIX + secrets.token_hex(8).encode()
    try:
        acquired = link.acquire(expected, lease)
    except _Unreachable:
        _count(slot, "errors")
        return compute()
    if acquired:
        return _fill(link, slot, compute, lease)
    return _wait_for_fill(link, slot, compute)


def _fill(link: _Link, slot: Slot, compute: Callable[[], T], lease: bytes) -> T:
    mine = sha(lease)
    try:
        # Read before computing: a bump during the computation then makes this entry a miss.
        tokens = _tokens_now(slot)
    except _Unreachable as exc:
        _count(slot, "errors")
        if exc.answered:
            _release(link, mine)
        return compute()
    started = time.perf_counter()
    try:
        value = compute()
    except BaseException:
        _release(link, mine)  # C3: nothing is cached, the next caller tries again
        raise
    _note_duration(slot, time.perf_counter() - started)
    try:
        data = _encode(link, slot, tokens, value)
        px = _ttl_ms(slot, link.cache)
        if link.swap(mine, data, px) and px >= 0:
            _count(slot, "fills")
    except _Unreachable as exc:
        _count(slot, "errors")
        if exc.answered:  # e.g. OOM for a large value: do not leave the lease behind
            _release(link, mine)
    except Exception as exc:  # an unpicklable value: serve it, cache nothing, say why
        logger.warning("cache value for %r could not be stored: %r", slot.key, exc)
        _count(slot, "errors")
        _release(link, mine)
    return value


def _wait_for_fill(link: _Link, slot: Slot, compute: Callable[[], T]) -> T:
    deadline = time.monotonic() + float(conf.LEASE_WAIT)
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
            lease = LEASE_PREFIX + secrets.token_hex(8).encode()
            if link.acquire(expected, lease):
                return _fill(link, slot, compute, lease)
    except _Unreachable:
        _count(slot, "errors")
    # The other fill is slow: compute without storing rather than keep the caller waiting.
    return compute()


def _refresh_in_place(link: _Link, slot: Slot, raw: bytes, old: Any, compute: Callable[[], T]) -> T:
    try:
        tokens = _tokens_now(slot)
    except _Unreachable:
        return old  # type: ignore[no-any-return]
    started = time.perf_counter()
    value = compute()  # an exception here propagates; the old value stays (C3)
    _note_duration(slot, time.perf_counter() - started)
    try:
        # Only over exactly the value we read: an invalidation meanwhile wins (C1).
        if link.swap(sha(raw), _encode(link, slot, tokens, value), _ttl_ms(slot, link.cache)):
            _count(slot, "fills")
    except _Unreachable:
        _count(slot, "errors")
    except Exception as exc:
        logger.warning("cache value for %r could not be stored: %r", slot.key, exc)
    return value


def _release(link: _Link, lease_sha: str) -> None:
    # Unreachable: the lease expires by itself after LEASE_TIMEOUT.
    with contextlib.suppress(_Unreachable):
        link.swap(lease_sha, b"", -1)


def _unwrap(
    link: _Link, slot: Slot, raw: bytes, tokens: Sequence[bytes | None]
) -> tuple[bool, Any]:
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
        raise _Unreachable from exc
    except redis.RedisError as exc:
        raise _Unreachable(answered=True) from exc


def _encode(link: _Link, slot: Slot, tokens: tuple[str, ...], value: Any) -> bytes:
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


def _refresh_early(slot: Slot, pttl: int) -> bool:
    delta = _durations.get(slot.family)
    if not delta or pttl <= 0:
        return False
    # XFetch: refresh when delta * beta * -ln(U) reaches the time left.
    return delta * slot.early_refresh * -math.log(1.0 - random.random()) * 1000 >= pttl


def _note_duration(slot: Slot, seconds: float) -> None:
    if slot.early_refresh:
        previous = _durations.get(slot.family)
        _durations[slot.family] = seconds if previous is None else 0.8 * previous + 0.2 * seconds


def _count(slot: Slot, event: str) -> None:
    if slot.counted:
        counters.record(slot.stat_type, event)
