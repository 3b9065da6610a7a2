"""The outbox of invalidations issued while Redis is unreachable (R2).

An invalidation that cannot reach Redis is queued in this process, keyed by cache alias
(``pending``), and replayed (``replaying``) when the breaker closes again, on the next
successful deletion (``deletion``), and by a retry thread while anything is queued
(``retry``). The queue is bounded (``OUTBOX_MAX_KEYS``); what does not fit is logged
(``reports``) and expires by its TTL.

Each entry is also written to the database (``durable``): a process that reaches Redis
again adopts the entries other processes left there (``adoption``); they may have exited
meanwhile. A forked child starts with an empty queue: its parent replays its own.

Entries are stored keys (the site's KEY_PREFIX and VERSION applied when queued) and
logical prefixes; deletions are idempotent, so replaying twice is harmless.
"""

from __future__ import annotations

from cache_admin.guard import CacheUnavailable
from cache_admin.invalidation.outbox.adoption import adopt
from cache_admin.invalidation.outbox.deletion import (
    Deletion,
    count_invalidations,
    delete,
    delete_keys,
    unlink,
)
from cache_admin.invalidation.outbox.pending import (
    clear,
    pending_count,
    queue_keys,
    queue_prefix,
    waiting,
)
from cache_admin.invalidation.outbox.replaying import replay, replay_if_pending
from cache_admin.invalidation.outbox.retry import wake_retry

__all__ = [
    "CacheUnavailable",
    "Deletion",
    "adopt",
    "clear",
    "count_invalidations",
    "delete",
    "delete_keys",
    "pending_count",
    "queue_keys",
    "queue_prefix",
    "replay",
    "replay_if_pending",
    "unlink",
    "waiting",
    "wake_retry",
]
