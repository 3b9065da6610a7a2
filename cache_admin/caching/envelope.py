"""What a slot's key holds: the value, or for a slot with generations the envelope
``(tokens, value)``; how a read of it is judged (fresh, stale, unreadable) and how long a
value is kept."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import BaseCache

from cache_admin import backend, policy
from cache_admin.caching.link import Link, Slot

logger = logging.getLogger("cache_admin")

FRESH, STALE, UNREADABLE = "fresh", "stale", "unreadable"


def unwrap(link: Link, slot: Slot, raw: bytes, tokens: tuple[bytes | None, ...]) -> tuple[str, Any]:
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


def current(tokens: tuple[bytes | None, ...]) -> tuple[bytes, ...] | None:
    """Tokens read with the lease, when every one exists (a missing one is created first)."""
    if None in tokens:
        return None
    return tokens  # type: ignore[return-value]


def encode(link: Link, slot: Slot, tokens: tuple[bytes, ...], value: Any) -> bytes:
    if not slot.generations:
        return backend.encode(value, link.cache)
    return backend.encode((tokens, value), link.cache)


def ttl_ms(slot: Slot, cache: BaseCache) -> int:
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
