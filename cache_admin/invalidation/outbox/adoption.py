"""Adoption: a process that reaches Redis queues the entries other processes left in the
database (they may have exited before Redis came back), to replay them."""

from __future__ import annotations

import logging

from cache_admin.invalidation.outbox import durable, pending

logger = logging.getLogger("cache_admin")


def adopt(alias: str) -> int:
    """Queue the entries other processes left in the database for ``alias``; answer how many."""
    known, room = pending.known(alias)
    rows = durable.load(alias, room, known)
    if not rows:
        return 0
    added = pending.add(alias, rows)
    if added:
        logger.warning(
            "Adopted %d invalidations queued on cache %r by another process during an outage",
            len(added),
            alias,
        )
    return len(added)
