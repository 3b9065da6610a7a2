"""The outbox's front door: delete keys behind the breaker, or queue them for replay."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import redis
from django.core.cache import caches

from cache_admin import backend, counters, stored_keys
from cache_admin.conf import conf
from cache_admin.guard import CacheUnavailable, guarded
from cache_admin.invalidation.outbox import adoption, durable, pending, replaying
from cache_admin.types import type_for_key


@dataclass(frozen=True)
class Deletion:
    deleted: int
    keys: tuple[str, ...]
    queued: bool = False


def delete_keys(logical_keys: Iterable[str], *, alias: str | None = None) -> int:
    """Delete logical keys (UNLINK); during an outage queue them for replay and return 0."""
    return delete(logical_keys, alias=alias).deleted


def delete(
    logical_keys: Iterable[str],
    *,
    alias: str | None = None,
    deleter: Callable[[redis.Redis, list[str]], int] | None = None,
) -> Deletion:
    """Delete logical keys; ``deleter(client, stored_keys)`` deletes instead of ``unlink``
    (it may delete more: a model's attribute keys). Queued for replay during an outage."""
    alias = alias or backend.alias()
    cache = caches[alias]
    logical = tuple(dict.fromkeys(logical_keys))
    if not logical:
        return Deletion(0, ())
    stored = [stored_keys.stored_key(key, cache) for key in logical]
    run = deleter or unlink
    try:
        deleted = guarded(
            lambda: run(backend.client(cache), stored), alias=alias, error=CacheUnavailable
        )
    except CacheUnavailable as exc:
        pending.queue_keys(stored, alias=alias, reason=str(exc))
        return Deletion(0, logical, queued=True)
    count_invalidations(logical)
    if durable.adoption_due(alias):
        adoption.adopt(alias)
    replaying.replay_if_pending(alias)
    return Deletion(deleted, logical)


def unlink(client: redis.Redis, stored: list[str]) -> int:
    """UNLINK in batches of SCAN_COUNT keys, one round trip: never one huge command (P4).
    On a cluster a batch keeps to one hash slot, and each node gets its batches at once."""
    batch = max(1, int(conf.SCAN_COUNT))
    clustered = backend.is_cluster(client)
    if len(stored) <= batch and (len(stored) == 1 or not clustered):
        return int(client.unlink(*stored))
    pipe = client.pipeline(transaction=False)
    backend.queue_unlinks(pipe, stored, batch, clustered)
    return sum(int(n) for n in pipe.execute())


def count_invalidations(logical_keys: Iterable[str]) -> None:
    per_type: dict[str | None, int] = {}
    for key in logical_keys:
        found = type_for_key(key)
        name = found.name if found else None
        per_type[name] = per_type.get(name, 0) + 1
    for name, n in per_type.items():
        counters.record(name, "invalidations", n)
