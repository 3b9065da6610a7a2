"""Redis access for the read-through engine: the slot of one lookup, its read, and the
one-key compare-and-set script. Every call goes through the breaker (R1).

A plain lookup of a family that misses often (``read_choice``) reads with ``SET key <lease>
NX GET PX LEASE_TIMEOUT``: one command that answers the value when there is one (a hit, one
round trip: P1) and takes the lease when the key is absent (a miss then needs one more round
trip, the compare-and-set that stores the value). A family whose lookups mostly hit reads
with a plain ``GET``, cheaper for the client, and a miss takes its lease with SET NX as a
step of its own; so does a miss on a server that refuses the leased read (before Redis 7.0,
NX with GET is a syntax error; a full server under ``noeviction`` refuses every write),
which is then read with GET. A generation-enveloped lookup reads its tokens and
its value with one MGET (a pipeline of GETs on a cluster, whose keys live on several nodes):
its hits are the frequent case, a Lua script that could also take the lease costs the
server several times a GET.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.core.cache import BaseCache
from redis.client import Pipeline

from cache_admin import backend, counters, current_cache, stored_keys
from cache_admin.breaker import Breaker
from cache_admin.caching import read_choice
from cache_admin.client_errors import REFUSED_WRITES
from cache_admin.conf import conf
from cache_admin.invalidation.registrations import attribute_names_key
from cache_admin.lease import new_lease
from cache_admin.lua import LuaScript, pipelined
from cache_admin.types import CacheType

logger = logging.getLogger("cache_admin")

T = TypeVar("T")

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
_swap = LuaScript(_SWAP)


ABSENT = ""  # the "expected" of an acquire on a key that holds nothing


class Slot:
    """What one lookup needs to know about its entry (built per call: a plain slotted class)."""

    __slots__ = (
        "alias",
        "attribute",
        "cache_type",
        "early_refresh",
        "family",
        "generations",
        "key",
        "timeout",
    )

    def __init__(
        self,
        key: str,
        cache_type: CacheType | None = None,
        timeout: float | None = None,  # explicit; None: the type's policy, else cache default
        # The logical keys of the generation tokens the entry depends on: with any, the
        # value is stored as (tokens, value) and read together with the current tokens.
        generations: tuple[str, ...] = (),
        family: str = "",
        early_refresh: float = 0.0,
        alias: str | None = None,  # None: CACHE_ALIAS
        # A CachedAttribute's (model label, attribute name): each store adds the name to
        # the model's name set, so that every process finds the key by name.
        attribute: tuple[str, str] | None = None,
    ) -> None:
        self.key = key  # logical
        self.alias = alias
        self.attribute = attribute
        self.cache_type = cache_type
        self.timeout = timeout
        self.generations = generations
        self.family = family
        self.early_refresh = early_refresh

    @property
    def stat_type(self) -> str | None:
        return self.cache_type.name if self.cache_type is not None else None

    @property
    def counted(self) -> bool:
        # The package's own keys never show in per-type statistics.
        return not self.key.startswith(conf.NAMESPACE)


class Unreachable(Exception):
    """Redis did not do what was asked. ``answered``: the server replied with an error
    (WRONGTYPE, OOM...), so it is there to clean up after us."""

    def __init__(self, answered: bool = False) -> None:
        super().__init__()
        self.answered = answered


class Link:
    """One cache, its raw client and breaker, for the duration of one lookup."""

    __slots__ = ("alias", "breaker", "cache", "client", "counted", "current", "stored")

    def __init__(self, slot: Slot) -> None:
        # Memoized per thread: the hit path skips the look-ups.
        try:
            current = self.current = current_cache.current(slot.alias)
        except backend.REDIS_ERRORS as exc:  # a cluster client not made: no node answered
            raise Unreachable from exc
        self.alias = current.alias
        self.cache: BaseCache = current.cache
        self.breaker: Breaker = current.breaker
        self.client: redis.Redis = current.client
        self.stored: str = current.stored_key(slot.key)
        # The package's own keys, and a warm run's lookups, count no hit or miss.
        self.counted = counters.lookups.counted and not slot.key.startswith(current.namespace)

    def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self.breaker.allow():
            raise Unreachable
        try:
            result = call(*args, **kwargs)
        except backend.REDIS_ERRORS as exc:
            self.breaker.failure(exc)
            raise Unreachable from exc
        except backend.ERROR_REPLIES as exc:  # the server answered (WRONGTYPE, OOM...)
            self.breaker.success()
            logger.warning("cache key %r not usable for read-through: %r", self.stored, exc)
            raise Unreachable(answered=True) from exc
        self.breaker.success()
        return result

    def swap(
        self, expected: str, data: bytes, px: int, attribute: tuple[str, str] | None = None
    ) -> bool:
        """Compare-and-set the key; with ``attribute``, add its name to the model's name set
        in the same round trip."""
        args: list[bytes | str | int] = [expected, data, px]
        if attribute is None:
            return bool(self.run(_swap, self.client, [self.stored], args))
        names = stored_keys.stored_key(attribute_names_key(attribute[0]), self.cache)

        def build(pipe: Pipeline) -> None:
            pipe.sadd(names, attribute[1])
            _swap.queue(pipe, [self.stored], args)

        return bool(self.run(pipelined, self.client, _swap, build)[1])

    def acquire(self, expected: str, lease: bytes) -> bool:
        px = max(1, int(conf.LEASE_TIMEOUT * 1000))
        if expected == ABSENT:
            return bool(self.run(self.client.set, self.stored, lease, nx=True, px=px))
        return self.swap(expected, lease, px)

    def read(self, slot: Slot) -> Read:
        """The raw value, the generation tokens and, for early refresh, the PTTL: one round
        trip. A plain slot's read takes a lease when the key is absent (``Read.lease``); a
        generation-enveloped one is an MGET, cheaper for its hits, and takes none."""
        if not slot.generations and not slot.early_refresh:
            if not read_choice.leased_read(slot.family):  # its lookups mostly hit
                raw: bytes | None = self.run(self.client.get, self.stored)  # type: ignore[assignment]
                return Read(raw, (), None, None)
            lease = new_lease()
            raw, leased = self.run(self._read_or_lease, lease)
            return Read(raw, (), None, lease if leased else None)
        names = [self.current.stored_key(name) for name in slot.generations]
        n = len(names)
        if not slot.early_refresh:  # no lease: one MGET, on a cluster a GET per key
            read = self._gets if backend.is_cluster(self.client) else self.client.mget
            found: list[Any] = self.run(read, [*names, self.stored])
            return Read(found[n], tuple(found[:n]), None, None)
        # One key per command: a cluster client sends each to its node.
        lease = new_lease()
        found, leased = self.run(self._read_pipeline, names, lease, bool(slot.early_refresh))
        pttl = int(found[n + 1]) if slot.early_refresh else None
        return Read(found[n], tuple(found[:n]), pttl, lease if leased else None)

    def _gets(self, keys: list[str]) -> list[Any]:
        # Keys in several slots: one pipeline, each node's GETs sent before any answer.
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
        return list(pipe.execute())

    def _read_or_lease(self, lease: bytes) -> tuple[bytes | None, bool]:
        px = _px_bytes(self.current.settings)
        pool = id(getattr(self.client, "connection_pool", self.client))
        if pool not in _plain_reads:
            try:
                # The command's own arguments as bytes: nothing to encode on the hit path.
                raw = self.client.execute_command(  # type: ignore[no-untyped-call]
                    "SET", self.stored, lease, b"NX", b"GET", b"PX", px, get=True
                )
                return raw, raw is None
            except backend.RESPONSE_ERRORS as exc:
                if not _refused(pool, exc):
                    raise
        return self.client.get(self.stored), False  # type: ignore[return-value]

    def _read_pipeline(self, names: list[str], lease: bytes, early: bool) -> tuple[list[Any], bool]:
        pool = id(getattr(self.client, "connection_pool", self.client))
        for plainly in (pool in _plain_reads, True):
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.get(name)
            if plainly:
                pipe.get(self.stored)
            else:
                px = _px_bytes(self.current.settings)
                read = ("SET", self.stored, lease, b"NX", b"GET", b"PX", px)
                pipe.execute_command(*read, get=True)  # type: ignore[no-untyped-call]
            if early:
                pipe.pttl(self.stored)
            try:
                found = pipe.execute()
            except backend.RESPONSE_ERRORS as exc:
                if plainly or not _refused(pool, exc):
                    raise
                continue
            return found, not plainly and found[len(names)] is None
        raise AssertionError("unreachable")  # pragma: no cover


class Read:
    """What one read found: the raw value (None when absent), the generation tokens (None
    for a missing one), the PTTL (early refresh only), and the lease it took (None when it
    took none)."""

    __slots__ = ("lease", "pttl", "raw", "tokens")

    def __init__(
        self,
        raw: bytes | None,
        tokens: tuple[bytes | None, ...],
        pttl: int | None,
        lease: bytes | None,
    ) -> None:
        self.raw = raw
        self.tokens = tokens
        self.pttl = pttl
        self.lease = lease


# Connection pools whose server cannot take a lease in the read (before Redis 7.0).
_plain_reads: set[int] = set()


def _refused(pool: int, exc: BaseException) -> bool:
    """Whether the server refused to take a lease in the read (see the module docstring),
    so the read is done again with GET."""
    if isinstance(exc, REFUSED_WRITES):
        return True  # this read only: hits are still served, a miss finds no lease to take
    if "syntax error" in str(exc).lower():  # NX with GET: Redis 7.0 and later
        _plain_reads.add(pool)
        return True
    return False


_px: tuple[object, bytes] = (None, b"")


def _px_bytes(settings: object) -> bytes:
    """LEASE_TIMEOUT in milliseconds, as the bytes a command sends (kept per settings)."""
    global _px
    if _px[0] is not settings:
        _px = (settings, b"%d" % max(1, int(conf.LEASE_TIMEOUT * 1000)))
    return _px[1]


def sha(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()
