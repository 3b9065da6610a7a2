"""This process's tally of counter events and its flush to Redis (P1).

``counters.record()`` only adds to the tally; a background thread (``cache_admin.background``)
flushes it to Redis at most once per ``STATS_FLUSH_INTERVAL`` in one pipeline, and
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
of them exactly). Readers (``cache_admin.counter_totals``) sum the shards.
"""

from __future__ import annotations

import functools
import itertools
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import redis

from cache_admin import backend, stored_keys
from cache_admin.background import Worker, on_fork
from cache_admin.breaker import breaker_for
from cache_admin.conf import conf

logger = logging.getLogger("cache_admin")

HISTORY_SECONDS = 2 * 3600
CLUSTER_SHARDS = 12


class Tally:
    def __init__(self) -> None:
        self.start_afresh()

    def start_afresh(self) -> None:
        # Also in a forked child, on the same object: counters.record() holds it from its
        # import, so the hit path reads it as one global, not an attribute of this module.
        self.lock = threading.Lock()
        # (epoch minute, type, event) -> count; the minute is taken when the event
        # happens, so a late flush still files it under the right minute.
        self.pending: dict[tuple[int, str, str], int] = {}
        # One flush at a time; record() never waits for it, readers of pending() do.
        # Reentrant: a thread that holds it (to keep the flusher thread off) may flush.
        self.flushing = threading.RLock()


tally = Tally()


def _shard_sequence() -> Iterator[int]:
    first = random.randrange(CLUSTER_SHARDS)
    return itertools.cycle([(first + n) % CLUSTER_SHARDS for n in range(CLUSTER_SHARDS)])


_shards_in_turn = _shard_sequence()


@on_fork
def _after_fork_in_child() -> None:
    # The parent flushes its own tally; the child starts from nothing with fresh locks, and
    # from a shard of its own (forked workers would otherwise flush in step).
    global _shards_in_turn
    tally.start_afresh()
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


def shards_for(client: redis.Redis) -> list[int | None]:
    return list(range(CLUSTER_SHARDS)) if backend.is_cluster(client) else [None]


def next_shard(sharded: bool) -> int | None:
    """The shard of the next flush on a cluster."""
    return next(_shards_in_turn) if sharded else None


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
    with tally.flushing, tally.lock:
        for (_minute, type_name, event), count in tally.pending.items():
            out[f"{type_name}:{event}"] += count
    return dict(out)


def flush() -> bool:
    """Write this process's tally to Redis in one pipeline. False when Redis was unreachable
    (the tally is kept for the next flush)."""
    with tally.flushing:
        return _flush(tally)


def _flush(tally: Tally) -> bool:
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


def _put_back(tally: Tally, batch: dict[tuple[int, str, str], int]) -> None:
    # Minutes older than the history window would expire at once: file them under the
    # oldest minute still kept, so the totals stay right.
    oldest = int(time.time()) // 60 - HISTORY_SECONDS // 60
    with tally.lock:
        for (minute, type_name, event), count in batch.items():
            key = (max(minute, oldest), type_name, event)
            tally.pending[key] = tally.pending.get(key, 0) + count


def reset_for_tests() -> None:
    """Forget this process's tally; a flush under way finishes first."""
    with tally.flushing, tally.lock:
        tally.pending.clear()


flusher = Worker("cache-admin-counters", _flush_forever, at_exit=flush)
