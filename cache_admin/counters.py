"""Per-type hit/miss/fill/error/invalidation counters, and misses by reason (P1).

``record()`` only adds to an in-process tally; a background thread (``cache_admin.background``)
flushes the tally to Redis at most once per ``STATS_FLUSH_INTERVAL`` in one pipeline, and
flushes what is left at exit, so a cache hit never pays an extra round trip for its
statistics.

Storage (logical keys, inside the site's KEY_PREFIX):
    cache_admin:stats:<epoch_minute>   hash <type>:<event> -> count, expires after 2 hours
    cache_admin:stats:total            hash <type>:<event> -> count since the data began

On a Redis Cluster each of these is CLUSTER_SHARDS hashes, ``...:{<tag>}``, and each flush
of a process goes to the next shard, from a random first one: every process flushing into
the same two hashes would make one hash slot, one node, take every process's writes each
second. A flush stays one round trip to one node; over CLUSTER_SHARDS flushes a process
has written to every shard once, and processes started together do not move in step.
Each shard's hash tag pins it to its own twelfth of the slot space, so the shards spread
evenly over primaries that split the slots evenly (redis-cli's way, and any 2, 3, 4 or 6
of them exactly). Readers sum the shards.

Counts from every process add up in Redis, so the console, ``cache_stats`` and the
Prometheus collector see the whole site.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import TypeVar

import redis

from cache_admin import backend, stored_keys
from cache_admin.background import Worker, on_fork
from cache_admin.breaker import breaker_for
from cache_admin.conf import conf
from cache_admin.guard import guarded

__all__ = ["EVENTS", "REASONS", "Counts", "flush", "miss", "record", "totals", "type_stats"]

logger = logging.getLogger("cache_admin")

# Why a lookup missed, where the package can tell (each miss has at most one):
ABSENT = "absent"  # nothing under the key: never filled, expired, evicted, or deleted
INVALIDATED = "invalidated"  # an entry of other generation tokens: its lists were invalidated
LEASE_WAIT = "lease_wait"  # another process was filling it: this lookup waited for that fill
REASONS = (ABSENT, INVALIDATED, LEASE_WAIT)
EVENTS = ("hits", "misses", "fills", "errors", "invalidations", *REASONS)
UNTYPED = "_untyped"
HISTORY_SECONDS = 2 * 3600
CLUSTER_SHARDS = 12
T = TypeVar("T")


@dataclass(frozen=True)
class Counts:
    hits: int = 0
    misses: int = 0
    fills: int = 0
    errors: int = 0
    invalidations: int = 0
    # Misses by reason (REASONS); misses counted without one are in none of them.
    absent: int = 0
    invalidated: int = 0
    lease_wait: int = 0

    @property
    def reasons(self) -> dict[str, int]:
        """Misses per reason, in REASONS order."""
        return {reason: getattr(self, reason) for reason in REASONS}

    @property
    def unexplained(self) -> int:
        """Misses counted without a reason (a project's own ``miss(type)`` calls)."""
        return max(0, self.misses - sum(self.reasons.values()))

    @property
    def hit_rate(self) -> float | None:
        """Hits over lookups, from 0 to 1; None when there was no lookup."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else None

    @property
    def lookups(self) -> int:
        return self.hits + self.misses

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


class _Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        # (epoch minute, type, event) -> count; the minute is taken when the event
        # happens, so a late flush still files it under the right minute.
        self.pending: dict[tuple[int, str, str], int] = {}
        # One flush at a time; record() never waits for it, readers of pending() do.
        # Reentrant: a thread that holds it (to keep the flusher thread off) may flush.
        self.flushing = threading.RLock()


_tally = _Tally()


def _shard_sequence() -> Iterator[int]:
    first = random.randrange(CLUSTER_SHARDS)
    return itertools.cycle([(first + n) % CLUSTER_SHARDS for n in range(CLUSTER_SHARDS)])


_shards_in_turn = _shard_sequence()


@on_fork
def _after_fork_in_child() -> None:
    # The parent flushes its own tally; the child starts from nothing with fresh locks, and
    # from a shard of its own (forked workers would otherwise flush in step).
    global _tally, _shards_in_turn
    _tally = _Tally()
    _shards_in_turn = _shard_sequence()


def stats_key(suffix: str | int, shard: int | None = None) -> str:
    """The logical key of a minute's (or the total's) hash: ``shard`` on a cluster."""
    base = f"{conf.NAMESPACE}stats:{suffix}"
    return base if shard is None else f"{base}:{{{shard_tags()[shard]}}}"


@functools.cache
def shard_tags() -> tuple[str, ...]:
    """The hash tag of each cluster shard: the first ``s<shard>.<n>`` whose hash slot lies
    in the shard's own part of the slot space."""
    tags = []
    for shard in range(CLUSTER_SHARDS):
        first, end = (backend.SLOTS * n // CLUSTER_SHARDS for n in (shard, shard + 1))
        candidates = (f"s{shard}.{n}" for n in itertools.count())
        tags.append(next(tag for tag in candidates if first <= backend.keyslot(tag) < end))
    return tuple(tags)


def _shards(client: redis.Redis) -> list[int | None]:
    return list(range(CLUSTER_SHARDS)) if backend.is_cluster(client) else [None]


def next_shard(sharded: bool) -> int | None:
    """The shard of the next flush on a cluster."""
    return next(_shards_in_turn) if sharded else None


def type_label(type_name: str | None) -> str:
    return type_name or UNTYPED


def record(type_name: str | None, event: str, n: int = 1) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown counter event {event!r}; expected one of {EVENTS}")
    tally = _tally
    # On the hit path: the field name is put together at flush time, not here.
    key = (int(time.time()) // 60, type_name or UNTYPED, event)
    with tally.lock:
        pending = tally.pending
        pending[key] = pending.get(key, 0) + n
    if flusher.thread is None:  # the first event of this process (or of a forked child)
        flusher.start()


def miss(type_name: str | None, reason: str | None = None) -> None:
    """Count one miss, and its reason (one of REASONS) when it is known."""
    if reason is not None and reason not in REASONS:
        raise ValueError(f"unknown miss reason {reason!r}; expected one of {REASONS}")
    tally = _tally
    minute, name = int(time.time()) // 60, type_name or UNTYPED
    with tally.lock:
        pending = tally.pending
        key = (minute, name, "misses")
        pending[key] = pending.get(key, 0) + 1
        if reason is not None:
            key = (minute, name, reason)
            pending[key] = pending.get(key, 0) + 1
    if flusher.thread is None:
        flusher.start()


# Periodic work that rides on the flusher's thread (the dashboard's history sampler), so
# a process runs one background thread for its statistics, not one per feature.
_periodic: list[Callable[[], None]] = []


def on_flush(hook: Callable[[], None]) -> None:
    """Run ``hook()`` on the flusher thread after each flush (it must be cheap and throttle)."""
    if hook not in _periodic:
        _periodic.append(hook)


def _flush_forever(worker: Worker) -> None:
    while worker.sleep(max(0.05, float(conf.STATS_FLUSH_INTERVAL))):
        try:
            flush()
        except Exception:  # the flusher must never die
            logger.exception("cache counters flush failed")
        for hook in list(_periodic):
            try:
                hook()
            except Exception:
                logger.exception("cache statistics hook %r failed", hook)


def pending() -> dict[str, int]:
    """This process's tally that is not in Redis yet, by ``<type>:<event>``."""
    out: Counter[str] = Counter()
    with _tally.flushing, _tally.lock:
        for (_minute, type_name, event), count in _tally.pending.items():
            out[f"{type_name}:{event}"] += count
    return dict(out)


def flush() -> bool:
    """Write this process's tally to Redis in one pipeline. False when Redis was unreachable
    (the tally is kept for the next flush)."""
    tally = _tally
    with tally.flushing:
        return _flush(tally)


def _flush(tally: _Tally) -> bool:
    with tally.lock:
        batch, tally.pending = tally.pending, {}
    if not batch:
        return True
    try:
        client = backend.client()
        cache = backend.get_cache()
    except Exception as exc:  # not a Redis cache: a system check reports it
        logger.debug("cache counters not flushed: %r", exc)
        return False
    breaker = breaker_for(backend.alias())
    if not breaker.allow():
        _put_back(tally, batch)
        return False
    shard = next_shard(backend.is_cluster(client))
    total = stored_keys.stored_key(stats_key("total", shard), cache)
    pipe = client.pipeline(transaction=False)
    minutes: set[str] = set()
    for (minute, type_name, event), count in batch.items():
        field = f"{type_name}:{event}"
        minute_key = stored_keys.stored_key(stats_key(minute, shard), cache)
        pipe.hincrby(minute_key, field, count)
        pipe.hincrby(total, field, count)
        minutes.add(minute_key)
    for key in minutes:
        pipe.expire(key, HISTORY_SECONDS)
    try:
        pipe.execute()
    except backend.REDIS_ERRORS as exc:
        breaker.failure(exc)
        _put_back(tally, batch)
        return False
    except backend.ERROR_REPLIES as exc:  # e.g. WRONGTYPE: the server answered, the data is lost
        breaker.success()
        logger.warning("cache counters could not be written: %r", exc)
        return False
    breaker.success()
    return True


def _put_back(tally: _Tally, batch: dict[tuple[int, str, str], int]) -> None:
    # Minutes older than the history window would expire at once: file them under the
    # oldest minute still kept, so the totals stay right.
    oldest = int(time.time()) // 60 - HISTORY_SECONDS // 60
    with tally.lock:
        for (minute, type_name, event), count in batch.items():
            key = (max(minute, oldest), type_name, event)
            tally.pending[key] = tally.pending.get(key, 0) + count


def _parse(rows: list[dict[bytes, bytes]]) -> dict[str, Counts]:
    sums: dict[str, Counter[str]] = {}
    for row in rows:
        for raw_field, raw_count in row.items():
            type_name, _, event = raw_field.decode(errors="replace").rpartition(":")
            if event not in EVENTS or not type_name:
                continue
            try:
                count = int(raw_count)
            except ValueError:
                continue
            sums.setdefault(type_name, Counter())[event] += count
    return {name: Counts(**{e: c[e] for e in EVENTS}) for name, c in sorted(sums.items())}


def type_stats(window_seconds: float = 300) -> dict[str, Counts]:
    """Counts per type over the last ``window_seconds`` (whole minutes, at most 2 hours),
    this process's pending tally included. Raises ``backend.REDIS_ERRORS`` when unreachable."""
    return {name: sum(minutes, Counts()) for name, minutes in type_minutes(window_seconds).items()}


def type_minutes(window_seconds: float = 3600) -> dict[str, list[Counts]]:
    """Counts per type for each minute of the last ``window_seconds``, oldest first (what
    happened when: the dashboard's hints tell a bulk load from traffic)."""
    flush()
    cache = backend.get_cache()
    now = int(time.time()) // 60
    span = min(max(1, math.ceil(float(window_seconds) / 60)), HISTORY_SECONDS // 60)

    def read() -> tuple[int, list[dict[bytes, bytes]]]:
        client = backend.client(cache)  # on a cluster, made (and so failing) here
        shards = _shards(client)
        pipe = client.pipeline(transaction=False)
        for minute in range(now - span + 1, now + 1):
            for shard in shards:
                pipe.hgetall(stored_keys.stored_key(stats_key(minute, shard), cache))
        return len(shards), list(pipe.execute())

    per_minute, found = guarded(read)
    rows = [_parse(found[i : i + per_minute]) for i in range(0, len(found), per_minute)]
    names = sorted({name for row in rows for name in row})
    return {name: [row.get(name, Counts()) for row in rows] for name in names}


def totals() -> dict[str, Counts]:
    """All-time counts per type (what Prometheus exports as counters)."""
    flush()
    cache = backend.get_cache()

    def read() -> list[dict[bytes, bytes]]:
        client = backend.client(cache)  # on a cluster, made (and so failing) here
        pipe = client.pipeline(transaction=False)
        for shard in _shards(client):
            pipe.hgetall(stored_keys.stored_key(stats_key("total", shard), cache))
        return list(pipe.execute())

    return _parse(guarded(read))


def overall(stats: dict[str, Counts]) -> Counts:
    total = Counts()
    for counts in stats.values():
        total = total + counts
    return total


def reset_for_tests() -> None:
    """Forget this process's tally; a flush under way finishes first."""
    with _tally.flushing, _tally.lock:
        _tally.pending.clear()


flusher = Worker("cache-admin-counters", _flush_forever, at_exit=flush)
