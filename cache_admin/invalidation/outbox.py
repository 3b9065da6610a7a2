"""Breaker-guarded key deletion, and the outbox of invalidations issued during an outage (R2).

An invalidation that cannot reach Redis is queued in this process, keyed by cache alias,
and replayed when the breaker closes again (``breaker.on_recovery``), on the next
successful deletion, and by a small retry thread while anything is pending. The queue is
bounded (``OUTBOX_MAX_KEYS``); what does not fit is logged and expires by its TTL.

Each entry is also written to the database (``durable``): a process that reaches Redis
again adopts the entries other processes left there (they may have exited meanwhile).

Entries are stored keys (the site's KEY_PREFIX and VERSION applied when queued) and
logical prefixes; deletions are idempotent, so replaying twice is harmless.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis
from django.core.cache import caches

from cache_admin import backend
from cache_admin.breaker import on_recovery
from cache_admin.conf import conf
from cache_admin.invalidation import durable
from cache_admin.invalidation.durable import KEY, PREFIX, Entry

# Re-exported: callers know them as outbox.CacheUnavailable and outbox.guarded.
from cache_admin.invalidation.guard import CacheUnavailable as CacheUnavailable
from cache_admin.invalidation.guard import guarded as guarded

logger = logging.getLogger("cache_admin")

LOG_EVERY = 60.0  # seconds between repeated log lines of one outage


@dataclass(frozen=True)
class Deletion:
    deleted: int
    keys: tuple[str, ...]
    queued: bool = False


@dataclass
class _Pending:
    # Ordered sets of stored keys and of logical prefixes, each with its database row id
    # (None while it has none).
    keys: dict[str, int | None] = field(default_factory=dict)
    prefixes: dict[str, int | None] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys) + len(self.prefixes)

    def table(self, kind: str) -> dict[str, int | None]:
        return self.keys if kind == KEY else self.prefixes

    def entries(self) -> set[Entry]:
        return {(KEY, k) for k in self.keys} | {(PREFIX, p) for p in self.prefixes}


@dataclass
class _Reported:
    # Kept per alias across replays: a retry that fails again must not log again.
    dropped: int = 0  # dropped since the last report
    drops_at: float = -LOG_EVERY
    queue_at: float = -LOG_EVERY


_pending: dict[str, _Pending] = {}
_reported: dict[str, _Reported] = {}
_lock = threading.Lock()  # guards _pending
_replay_lock = threading.RLock()  # one replay at a time in this process
_local = threading.local()
_retry: dict[str, object] = {}
_wake = threading.Event()


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time would stay held in the child for good.
    global _lock, _replay_lock
    _lock = threading.Lock()
    _replay_lock = threading.RLock()
    _retry.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def delete_keys(logical_keys: Iterable[str], *, alias: str | None = None) -> int:
    """Delete logical keys (UNLINK); during an outage queue them for replay and return 0."""
    return delete(logical_keys, alias=alias).deleted


def delete(logical_keys: Iterable[str], *, alias: str | None = None) -> Deletion:
    alias = alias or backend.alias()
    cache = caches[alias]
    logical = tuple(dict.fromkeys(logical_keys))
    if not logical:
        return Deletion(0, ())
    stored = [backend.stored_key(key, cache) for key in logical]
    try:
        deleted = guarded(alias, lambda: unlink(backend.client(cache), stored))
    except CacheUnavailable as exc:
        queue_keys(stored, alias=alias, reason=str(exc))
        return Deletion(0, logical, queued=True)
    count_invalidations(logical)
    if durable.adoption_due(alias):
        adopt(alias)
    replay_if_pending(alias)
    return Deletion(deleted, logical)


def unlink(client: redis.Redis, stored: list[str]) -> int:
    """UNLINK in batches of SCAN_COUNT keys, one round trip: never one huge command (P4)."""
    batch = max(1, int(conf.SCAN_COUNT))
    if len(stored) <= batch:
        return int(client.unlink(*stored))
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(stored), batch):
        pipe.unlink(*stored[start : start + batch])
    return sum(int(n) for n in pipe.execute())


def count_invalidations(logical_keys: Iterable[str]) -> None:
    from cache_admin import counters
    from cache_admin.types import type_for_key

    per_type: dict[str | None, int] = {}
    for key in logical_keys:
        found = type_for_key(key)
        name = found.name if found else None
        per_type[name] = per_type.get(name, 0) + 1
    for name, n in per_type.items():
        counters.record(name, "invalidations", n)


def queue_keys(stored_keys: Iterable[str], *, alias: str, reason: str = "") -> None:
    _queue(alias, [((KEY, key), None) for key in stored_keys], reason=reason)


def queue_prefix(prefix: str, *, alias: str, reason: str = "") -> None:
    _queue(alias, [((PREFIX, prefix), None)], reason=reason)


def _add(alias: str, entries: Iterable[tuple[Entry, int | None]]) -> tuple[list[Entry], int, int]:
    """Add entries to the queue under the lock; answer (added, dropped, queue size)."""
    limit = int(conf.OUTBOX_MAX_KEYS)
    added: list[Entry] = []
    dropped = 0
    pending = _pending.setdefault(alias, _Pending())
    for entry, row in entries:
        table = pending.table(entry[0])
        if entry[1] in table:
            if table[entry[1]] is None:
                table[entry[1]] = row
            continue
        if len(pending) >= limit:
            dropped += 1
            continue
        table[entry[1]] = row
        added.append(entry)
    return added, dropped, len(pending)


def _queue(
    alias: str,
    entries: Iterable[tuple[Entry, int | None]],
    *,
    reason: str = "",
    persist: bool = True,
) -> None:
    limit = int(conf.OUTBOX_MAX_KEYS)
    with _lock:
        added, dropped, size = _add(alias, entries)
        reported = _reported.setdefault(alias, _Reported())
        reported.dropped += dropped
        total_dropped = reported.dropped
        now = time.monotonic()
        # During a long outage every save queues: a line at once, then at most one a
        # minute, so the log says what happens without drowning in it.
        report_drops = bool(total_dropped) and now - reported.drops_at >= LOG_EVERY
        report_queue = now - reported.queue_at >= LOG_EVERY
        if report_drops:
            reported.dropped, reported.drops_at = 0, now
        if report_queue:
            reported.queue_at = now
    if persist and added:
        _remember_rows(alias, durable.save(alias, added))
    if report_drops:
        logger.error(
            "Invalidation outbox for cache %r is full (%d entries, OUTBOX_MAX_KEYS): "
            "%d invalidations dropped; those keys stay until their TTL expires",
            alias,
            limit,
            total_dropped,
        )
    if report_queue:
        logger.warning(
            "Redis for cache %r unreachable (%s): invalidations queued (%d pending), "
            "replayed when it is back",
            alias,
            reason,
            size,
        )
    _start_retry()


def _remember_rows(alias: str, rows: dict[Entry, int]) -> None:
    """Attach row ids to queued entries; a row whose entry was replayed meanwhile goes."""
    done: list[int] = []
    with _lock:
        pending = _pending.get(alias)
        for (kind, target), row in rows.items():
            table = pending.table(kind) if pending else None
            if table is not None and target in table:
                table[target] = row
            else:
                done.append(row)
    durable.forget(done)


def adopt(alias: str) -> int:
    """Queue the entries other processes left in the database for ``alias``; answer how many."""
    with _lock:
        pending = _pending.get(alias)
        known = pending.entries() if pending else set()
        room = int(conf.OUTBOX_MAX_KEYS) - len(known)
    rows = durable.load(alias, room, known)
    if not rows:
        return 0
    with _lock:
        added, _dropped, _size = _add(alias, rows)
    if added:
        logger.warning(
            "Adopted %d invalidations queued on cache %r by another process during an outage",
            len(added),
            alias,
        )
    return len(added)


def pending_count(alias: str | None = None) -> int:
    with _lock:
        if alias is not None:
            found = _pending.get(alias)
            return len(found) if found else 0
        return sum(len(p) for p in _pending.values())


def waiting(alias: str) -> int:
    """Invalidations of ``alias`` waiting for Redis: this process's queue or, when larger,
    the rows every process left in the database."""
    return max(pending_count(alias), durable.count(alias))


def replay_if_pending(alias: str) -> None:
    if pending_count(alias) and not getattr(_local, "replaying", False):
        replay(alias)


def replay(alias: str | None = None) -> int:
    """Apply what is queued (for one alias or all); what fails again stays queued.

    Returns the number of entries applied.
    """
    if getattr(_local, "replaying", False):  # a breaker hook fired inside our own replay
        return 0
    with _replay_lock:
        _local.replaying = True
        try:
            with _lock:
                aliases = [alias] if alias is not None else list(_pending)
            return sum(_replay_alias(name) for name in aliases)
        finally:
            _local.replaying = False


def _replay_alias(alias: str) -> int:
    from cache_admin.invalidation.prefix import delete_prefix

    with _lock:
        pending = _pending.pop(alias, None)
    if not pending:
        return 0
    keys = list(pending.keys.items())
    prefixes = list(pending.prefixes.items())
    applied = 0
    batch = max(1, int(conf.SCAN_COUNT))
    try:
        cache = caches[alias]
        while keys:
            chunk = keys[:batch]
            stored = [key for key, _row in chunk]
            guarded(alias, lambda: backend.client(cache).unlink(*stored))  # noqa: B023
            del keys[:batch]
            applied += len(chunk)
            durable.forget(row for _key, row in chunk)
        while prefixes:
            delete_prefix(prefixes[0][0], alias=alias)
            durable.forget([prefixes.pop(0)[1]])
            applied += 1
    except CacheUnavailable as exc:
        _requeue(alias, keys, prefixes, str(exc))
    except Exception:
        logger.exception("Invalidation outbox replay on cache %r failed", alias)
        _requeue(alias, keys, prefixes, "replay failed")
    with _lock:
        if alias not in _pending:  # all done: the next outage is reported at once
            _reported.pop(alias, None)
    if applied:
        logger.warning("Replayed %d queued invalidations on cache %r", applied, alias)
    return applied


def _requeue(
    alias: str,
    keys: list[tuple[str, int | None]],
    prefixes: list[tuple[str, int | None]],
    reason: str,
) -> None:
    """Put back what a replay could not apply; its rows are in the database already."""
    entries = [((PREFIX, p), row) for p, row in prefixes] + [((KEY, k), row) for k, row in keys]
    _queue(alias, entries, reason=reason, persist=False)


def _on_recovery(alias: str) -> None:
    adopt(alias)  # at once, whatever OUTBOX_ADOPT_INTERVAL says
    replay_if_pending(alias)


on_recovery(_on_recovery)


def _start_retry() -> None:
    if float(conf.OUTBOX_RETRY_INTERVAL or 0) <= 0:
        return
    with _lock:
        thread = _retry.get("thread")
        if _retry.get("pid") == os.getpid() and isinstance(thread, threading.Thread):
            return  # running; it clears itself under this lock before it ends
        thread = threading.Thread(target=_retry_loop, name="cache-admin-outbox", daemon=True)
        _retry["thread"] = thread
        _retry["pid"] = os.getpid()
    thread.start()


def wake_retry() -> None:
    """Retry what is queued now (the retry thread runs only while something is queued)."""
    if pending_count():
        _start_retry()
    _wake.set()


def _retry_loop() -> None:
    # Drains the outbox even when nothing else in this process talks to Redis again.
    while True:
        interval = float(conf.OUTBOX_RETRY_INTERVAL or 0)
        _wake.wait(max(0.05, interval))
        _wake.clear()
        try:
            replay()
        except Exception:  # the retry thread must never die with entries pending
            logger.exception("Invalidation outbox replay failed")
        with _lock:
            if interval <= 0 or not any(_pending.values()):
                _retry["thread"] = None
                return


def clear() -> None:
    """Forget everything queued (tests, or an operator who flushed Redis anyway)."""
    with _lock:
        _pending.clear()
        _reported.clear()
    durable.reset()
