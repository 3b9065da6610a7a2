"""Replay: apply what the outbox queued, once Redis answers again; what fails again stays
queued. It runs when the breaker closes (``breaker.on_recovery``), after each successful
deletion, from the retry thread, and on demand (the console's Replay now)."""

from __future__ import annotations

import logging
import threading

from django.core.cache import caches

from cache_admin import backend
from cache_admin.background import on_fork
from cache_admin.breaker import on_recovery
from cache_admin.conf import conf
from cache_admin.guard import CacheUnavailable, guarded
from cache_admin.invalidation.outbox import adoption, durable, pending, reports
from cache_admin.invalidation.prefix import delete_prefix
from cache_admin.queued import KEY, PREFIX

logger = logging.getLogger("cache_admin")

_replay_lock = threading.RLock()  # one replay at a time in this process
_local = threading.local()


@on_fork
def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time would stay held in the child for good.
    global _replay_lock, _local
    _replay_lock = threading.RLock()
    _local = threading.local()


def replay_if_pending(alias: str) -> None:
    if pending.pending_count(alias) and not getattr(_local, "replaying", False):
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
            aliases = [alias] if alias is not None else pending.aliases()
            return sum(_replay_alias(name) for name in aliases)
        finally:
            _local.replaying = False


def _replay_alias(alias: str) -> int:
    queued = pending.take(alias)
    if not queued:
        return 0
    keys = list(queued.keys.items())
    prefixes = list(queued.prefixes.items())
    applied = 0
    batch = max(1, int(conf.SCAN_COUNT))
    try:
        cache = caches[alias]
        while keys:
            chunk = keys[:batch]
            stored = [key for key, _row in chunk]
            guarded(
                lambda: backend.client(cache).unlink(*stored),  # noqa: B023
                alias=alias,
                error=CacheUnavailable,
            )
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
    if not pending.pending_count(alias):
        reports.forget(alias)
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
    rows = [((PREFIX, p), row) for p, row in prefixes] + [((KEY, k), row) for k, row in keys]
    pending.enqueue(alias, rows, reason=reason, persist=False)


@on_recovery
def _on_recovery(alias: str) -> None:
    adoption.adopt(alias)  # at once, whatever OUTBOX_ADOPT_INTERVAL says
    replay_if_pending(alias)
