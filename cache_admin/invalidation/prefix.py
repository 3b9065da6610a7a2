"""Prefix deletion: SCAN MATCH plus UNLINK in bounded steps, on every primary (P4).

Never KEYS, FLUSHDB or one huge DEL. Where the node runs scripts, each step is one script
call doing SCAN and UNLINK inside Redis for at most ``PREFIX_STEP_MS`` (prefix_script.py):
no key travels to the client. Otherwise (scripts refused, or a ``keep`` filter that needs
each key here) each step is one round trip: the UNLINK of the batch just found and the
next SCAN travel together in a non-transactional pipeline, so Redis never runs more than
one batch of work at a time (on a cluster node, one UNLINK per hash slot of the batch).
The match is the site's stored prefix (KEY_PREFIX:VERSION:) plus the glob-escaped logical
prefix, so nothing outside the site's namespace (S2) or the prefix is touched; the
package's own namespace is kept unless the prefix names it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import redis
from django.core.cache import caches

from cache_admin import backend, stored_keys
from cache_admin.conf import conf
from cache_admin.guard import CacheUnavailable, guarded
from cache_admin.invalidation.prefix_script import ServerStep

logger = logging.getLogger(__name__)

MAX_PREFIX_LENGTH = 1024


@dataclass(frozen=True)
class PrefixProgress:
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
    for step in _steps(prefix, dry_run=True, alias=alias, budget=limit):
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
) -> Iterator[PrefixProgress]:
    """Delete the site's keys under a logical prefix, yielding progress after each step.

    ``keep(rest)`` narrows further: it gets what follows the prefix in each found key
    and says whether that key is to be deleted.

    Raises ValueError for an unusable prefix (before any Redis call) and
    ``CacheUnavailable`` when Redis cannot be reached.
    """
    return _steps(prefix, dry_run=dry_run, batch=batch, alias=alias, keep=keep)


def _steps(
    prefix: str,
    *,
    dry_run: bool = False,
    batch: int | None = None,
    alias: str | None = None,
    keep: Callable[[bytes], bool] | None = None,
    budget: int | None = None,
) -> Iterator[PrefixProgress]:
    # ``budget``: no server-side step examines keys past it (count_prefix stops there).
    prefix = validate_prefix(prefix)
    alias = alias or backend.alias()
    cache = caches[alias]
    scope = _Scope.of(prefix, cache, keep)
    count = max(1, int(batch or conf.SCAN_COUNT))
    clients = guarded(lambda: backend.primary_clients(cache), alias=alias, error=CacheUnavailable)
    sizes = [
        guarded(_size_and_mode(client), alias=alias, error=CacheUnavailable) for client in clients
    ]
    tally = _Tally(prefix, sum(size for size, _ in sizes), dry_run, budget)
    yield tally.progress()
    for client, (_, clustered) in zip(clients, sizes, strict=True):
        for _step in _walk_node(client, alias, scope, count, clustered, tally):
            yield tally.progress()
    yield tally.progress(done=True)


@dataclass(frozen=True)
class _Scope:
    """Which keys a scan matches (SCAN MATCH) and which of those it deletes."""

    stored_prefix: bytes
    match: str
    protected: bytes | None  # the package's own namespace, unless the prefix names it
    keep: Callable[[bytes], bool] | None

    @classmethod
    def of(cls, prefix: str, cache: Any, keep: Callable[[bytes], bool] | None) -> _Scope:
        stored = stored_keys.stored_key(prefix, cache)
        namespace = stored_keys.stored_key(str(conf.NAMESPACE), cache).encode()
        # Only a prefix shorter than the namespace and starting it ("cache") reaches the
        # namespace's keys; one that names the namespace ("cache_admin:gen:") asks for them.
        reaches = namespace.startswith(stored.encode()) and namespace != stored.encode()
        protected = namespace if reaches else None
        return cls(stored.encode(), stored_keys.glob_escape(stored) + "*", protected, keep)

    def wanted(self, keys: list[bytes]) -> list[bytes]:
        # SCAN MATCH already confined the keys; the checks below only narrow further.
        start = len(self.stored_prefix)
        return [
            key
            for key in keys
            if key.startswith(self.stored_prefix)
            and not (self.protected and key.startswith(self.protected))
            and (self.keep is None or self.keep(key[start:]))
        ]


@dataclass
class _Tally:
    prefix: str
    total: int
    dry_run: bool
    budget: int | None
    scanned: int = 0
    matched: int = 0
    deleted: int = 0

    def progress(self, *, done: bool = False) -> PrefixProgress:
        # SCAN's COUNT is a hint, so ``scanned`` is an estimate: kept under the total
        # while running, and the whole keyspace once done.
        scanned = max(self.scanned, self.total) if done else min(self.scanned, self.total)
        return PrefixProgress(
            self.prefix, scanned, self.total, self.matched, self.deleted, done, self.dry_run
        )


def _walk_node(
    client: redis.Redis, alias: str, scope: _Scope, count: int, clustered: bool, tally: _Tally
) -> Iterator[None]:
    """One node to its end: by server-side steps, or where the node refuses the script
    (from the cursor it reached) or ``keep`` needs each key here, by the client's loop."""
    cursor: int | None = 0
    if scope.keep is None:
        cursor = yield from _server_steps(client, alias, scope, count, clustered, tally)
    if cursor is not None:
        yield from _scan_node(client, alias, scope, count, clustered, tally, cursor)


def _server_steps(
    client: redis.Redis, alias: str, scope: _Scope, count: int, clustered: bool, tally: _Tally
) -> Generator[None, None, int | None]:
    """Script calls to the node's end (None), or until the node refuses the script (the
    cursor to go on from); yields after every call but the last."""
    step = ServerStep(client)
    mode = "count" if tally.dry_run else "unlink-each" if clustered else "unlink"
    cursor, per_key_us = 0, 0.0
    while True:
        call = partial(
            step,
            cursor=cursor,
            match=scope.match,
            most=count,
            budget_us=conf.PREFIX_STEP_MS * 1000,
            per_key_us=per_key_us,
            protected=scope.protected,
            mode=mode,
            limit=max(1, tally.budget - tally.scanned) if tally.budget else 0,
        )
        try:
            done = guarded(call, alias=alias, error=CacheUnavailable)
        except backend.RESPONSE_ERRORS as exc:  # redis-py's or valkey-py's
            logger.info("Prefix deletion goes on from the client: the script was refused (%s)", exc)
            return cursor
        tally.scanned += done.examined
        tally.matched += done.matched
        tally.deleted += done.deleted
        cursor, per_key_us = done.cursor, done.per_key_us
        if cursor == 0:
            return None
        yield


def _scan_node(
    client: redis.Redis,
    alias: str,
    scope: _Scope,
    count: int,
    clustered: bool,
    tally: _Tally,
    cursor: int = 0,
) -> Iterator[None]:
    """SCAN one node to its end from ``cursor``, each batch's UNLINK riding with the next
    SCAN in one round trip; yields after every step but the last."""
    found: list[bytes] = []
    while True:
        pipe = client.pipeline(transaction=False)
        if not tally.dry_run:
            backend.queue_unlinks(pipe, found, count, clustered)
        pipe.scan(cursor, match=scope.match, count=count)
        results = guarded(pipe.execute, alias=alias, error=CacheUnavailable)
        tally.deleted += sum(int(n) for n in results[:-1])
        cursor, found = int(results[-1][0]), scope.wanted(results[-1][1])
        tally.scanned += count
        tally.matched += len(found)
        if cursor == 0:
            break
        yield
    if found and not tally.dry_run:
        pipe = client.pipeline(transaction=False)
        backend.queue_unlinks(pipe, found, count, clustered)
        done = guarded(pipe.execute, alias=alias, error=CacheUnavailable)
        tally.deleted += sum(int(n) for n in done)


def _size_and_mode(client: redis.Redis) -> Callable[[], tuple[int, bool]]:
    def read() -> tuple[int, bool]:
        pipe = client.pipeline(transaction=False)
        pipe.dbsize()
        pipe.info("cluster")
        size, info = pipe.execute()
        return int(size), bool(info.get("cluster_enabled"))

    return read


def delete_prefix(
    prefix: str,
    *,
    dry_run: bool = False,
    batch: int | None = None,
    alias: str | None = None,
    keep: Callable[[bytes], bool] | None = None,
) -> PrefixProgress:
    steps = iter_delete_prefix(prefix, dry_run=dry_run, batch=batch, alias=alias, keep=keep)
    last = next(steps)
    for last in steps:  # noqa: B007 (the last progress is the answer)
        pass
    return last
