"""Redis access for the read-through engine: the slot of one lookup, the lease marker, and
the one-key compare-and-set script. Every call goes through the breaker (R1).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.core.cache import BaseCache
from django.db import models
from redis.client import Pipeline
from redis.commands.core import Script

from cache_admin import backend, generations
from cache_admin.breaker import Breaker
from cache_admin.conf import conf
from cache_admin.invalidation.registrations import attribute_names_key
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
_swap_script: Script | None = None

ABSENT = ""  # the "expected" of an acquire on a key that holds nothing


class Slot:
    """What one lookup needs to know about its entry (built per call: a plain slotted class)."""

    __slots__ = (
        "alias",
        "attribute",
        "cache_type",
        "early_refresh",
        "family",
        "key",
        "models",
        "timeout",
    )

    def __init__(
        self,
        key: str,
        cache_type: CacheType | None = None,
        timeout: float | None = None,  # explicit; None: the type's policy, else cache default
        models: tuple[type[models.Model], ...] = (),
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
        self.models = models
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

    __slots__ = ("alias", "breaker", "cache", "client", "counted", "stored")

    def __init__(self, slot: Slot) -> None:
        # Memoized per thread: the hit path skips the look-ups.
        current = backend.current(slot.alias)
        self.alias = current.alias
        self.cache: BaseCache = current.cache
        self.breaker: Breaker = current.breaker
        self.client: redis.Redis = current.client
        self.stored: str = current.stored_key(slot.key)
        self.counted = not slot.key.startswith(current.namespace)

    def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self.breaker.allow():
            raise Unreachable
        try:
            result = call(*args, **kwargs)
        except backend.REDIS_ERRORS as exc:
            self.breaker.failure(exc)
            raise Unreachable from exc
        except redis.RedisError as exc:  # the server answered (WRONGTYPE, NOSCRIPT...)
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
        global _swap_script
        script = _swap_script
        if script is None:
            script = _swap_script = Script(self.client, _SWAP)
        args: list[bytes | str | int] = [expected, data, px]
        if attribute is None:
            return bool(self.run(script, keys=[self.stored], args=args, client=self.client))
        names = backend.stored_key(attribute_names_key(attribute[0]), self.cache)

        def build(pipe: Pipeline) -> None:
            pipe.sadd(names, attribute[1])
            pipe.evalsha(script.sha, 1, self.stored, *args)

        return bool(self.run(backend.pipelined, self.client, script, build)[1])

    def acquire(self, expected: str, lease: bytes) -> bool:
        px = max(1, int(conf.LEASE_TIMEOUT * 1000))
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
