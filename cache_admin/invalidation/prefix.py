"""Prefix deletion: SCAN MATCH with a large COUNT plus one UNLINK per batch, on every primary (P4).

Never KEYS, FLUSHDB or one huge DEL. Each step is one round trip: the UNLINK of the batch
just found and the next SCAN travel together in a non-transactional pipeline, so Redis
never runs more than one batch of work at a time (on a cluster node, one UNLINK per hash
slot of the batch). The match is the site's stored prefix (KEY_PREFIX:VERSION:) plus the
glob-escaped logical prefix, so nothing outside the site's namespace (S2) or the prefix
is touched; the package's own namespace is kept unless the prefix names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import redis
from django.core.cache import caches
from redis.crc import key_slot

from cache_admin import backend
from cache_admin.conf import conf
from cache_admin.invalidation.guard import guarded

MAX_PREFIX_LENGTH = 1024


@dataclass(frozen=True)
class Progress:
    """Where a prefix deletion stands; ``scanned`` and ``total`` are estimates (progress bar)."""

    prefix: str
    scanned: int
    total: int
    matched: int
    deleted: int
    done: bool
    dry_run: bool = False

    @property
    def fraction(self) -> float:
        if self.done:
            return 1.0
        if self.total <= 0:
            return 0.0
        return min(0.99, self.scanned / self.total)


@dataclass(frozen=True)
class PrefixCount:
    """How many of the site's keys start with a prefix, from a scan bounded by a budget."""

    prefix: str
    matched: int  # keys found in the part scanned
    scanned: int  # keys examined
    total: int  # keys in the database (all primaries)
    complete: bool

    @property
    def estimate(self) -> int:
        """The count when complete, else the matches scaled to the whole keyspace."""
        if self.complete or self.scanned <= 0:
            return self.matched
        return max(self.matched, round(self.matched * self.total / self.scanned))


def count_prefix(
    prefix: str, *, budget: int | None = None, alias: str | None = None
) -> PrefixCount:
    """Count a prefix's keys, examining at most about ``budget`` keys (P5: a console page
    asks this in a request); past the budget the count is an estimate that says so."""
    limit = max(1, int(budget or conf.CONSOLE_SCAN_BUDGET))
    for step in iter_delete_prefix(prefix, dry_run=True, alias=alias):
        if step.done:
            return PrefixCount(prefix, step.matched, step.total, step.total, True)
        if step.scanned >= limit:
            return PrefixCount(prefix, step.matched, step.scanned, step.total, False)
    raise AssertionError("iter_delete_prefix always ends with a done step")


def validate_prefix(prefix: object) -> str:
    if not isinstance(prefix, str):
        raise ValueError("The prefix must be text, for example 'product:'.")
    if not prefix:
        raise ValueError(
            "An empty prefix would delete every key of the site; give a prefix such as 'product:'."
        )
    if len(prefix) > MAX_PREFIX_LENGTH:
        raise ValueError(f"The prefix is longer than {MAX_PREFIX_LENGTH} characters.")
    return prefix


def iter_delete_prefix(
    prefix: str,
    *,
    dry_run: bool = False,
    batch: int | None = None,
    alias: str | None = None,
    keep: Callable[[bytes], bool] | None = None,
) -> Iterator[Progress]:
    """Delete the site's keys under a logical prefix, yielding progress after each step.

    ``keep(rest)`` narrows further: it gets what follows the prefix in each found key
    and says whether that key is to be deleted.

    Raises ValueError for an unusable prefix (before any Redis call) and
    ``CacheUnavailable`` when Redis cannot be reached.
    """
    prefix = validate_prefix(prefix)
    alias = alias or backend.alias()
    cache = caches[alias]
    count = max(1, int(batch or conf.SCAN_COUNT))
    stored_prefix = backend.stored_key(prefix, cache).encode()
    match = backend.glob_escape(backend.stored_key(prefix, cache)) + "*"
    namespace = str(conf.NAMESPACE)
    protected = (
        None if prefix.startswith(namespace) else backend.stored_key(namespace, cache).encode()
    )
    clients = backend.primary_clients(cache)
    sizes = [guarded(alias, _size_and_mode(client)) for client in clients]
    total = sum(size for size, _ in sizes)
    scanned = matched = deleted = 0
    yield Progress(prefix, 0, total, 0, 0, False, dry_run)
    for client, (_, clustered) in zip(clients, sizes, strict=True):
        cursor = 0
        found: list[bytes] = []
        while True:
            pipe = client.pipeline(transaction=False)
            if not dry_run:
                _unlink(pipe, found, clustered)
            pipe.scan(cursor, match=match, count=count)
            results = guarded(alias, pipe.execute)
            deleted += sum(int(n) for n in results[:-1])
            cursor, keys = results[-1]
            cursor = int(cursor)
            scanned += count
            # SCAN MATCH already confined the keys; the checks below only narrow further.
            found = [
                key
                for key in keys
                if key.startswith(stored_prefix)
                and not (protected and key.startswith(protected))
                and (keep is None or keep(key[len(stored_prefix) :]))
            ]
            matched += len(found)
            if cursor == 0:
                break
            yield Progress(prefix, min(scanned, total), total, matched, deleted, False, dry_run)
        if found and not dry_run:
            pipe = client.pipeline(transaction=False)
            _unlink(pipe, found, clustered)
            deleted += sum(int(n) for n in guarded(alias, pipe.execute))
    yield Progress(prefix, max(scanned, total), total, matched, deleted, True, dry_run)


def _size_and_mode(client: redis.Redis) -> Callable[[], tuple[int, bool]]:
    def read() -> tuple[int, bool]:
        pipe = client.pipeline(transaction=False)
        pipe.dbsize()
        pipe.info("cluster")
        size, info = pipe.execute()
        return int(size), bool(info.get("cluster_enabled"))

    return read


def _unlink(pipe: Any, found: list[bytes], clustered: bool) -> None:
    if not found:
        return
    if not clustered:
        pipe.unlink(*found)
        return
    # A cluster node refuses a multi-key command across hash slots (CROSSSLOT).
    by_slot: dict[int, list[bytes]] = {}
    for key in found:
        by_slot.setdefault(key_slot(key), []).append(key)
    for group in by_slot.values():
        pipe.unlink(*group)


def delete_prefix(
    prefix: str,
    *,
    dry_run: bool = False,
    batch: int | None = None,
    alias: str | None = None,
    keep: Callable[[bytes], bool] | None = None,
) -> Progress:
    steps = iter_delete_prefix(prefix, dry_run=dry_run, batch=batch, alias=alias, keep=keep)
    last = next(steps)
    for last in steps:  # noqa: B007 (the last progress is the answer)
        pass
    return last
