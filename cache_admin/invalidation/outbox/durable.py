"""The outbox's copy in the database, so that queued invalidations outlive their process (R2).

The outbox queues an invalidation in memory when Redis is unreachable and replays it when
Redis is back. A process that exits first (a deploy, a management command, a recycled
worker) would lose its queue; each entry is therefore also written here, and any process
that reaches Redis again (its breaker closing, or a successful deletion, at most once per
``OUTBOX_ADOPT_INTERVAL``) adopts the rows of its cache alias, replays them and deletes
them. Replaying an entry twice is harmless: deletions are idempotent.

Everything here is best effort: without a usable database (no migrations, an async
context, the database down as well) the outbox still works in memory, and says so once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from cache_admin.background import on_fork
from cache_admin.conf import conf
from cache_admin.queued import Entry

logger = logging.getLogger("cache_admin")

_warned = False
_adopted_at: dict[str, float] = {}


def enabled() -> bool:
    return conf.OUTBOX_DURABLE


def save(alias: str, entries: Iterable[Entry]) -> dict[Entry, int]:
    """Write entries; answer their row ids (empty when the database cannot take them)."""
    entries = list(entries)
    if not entries or not enabled():
        return {}
    try:
        from cache_admin.models import QueuedInvalidation

        rows = QueuedInvalidation.objects.bulk_create(
            [QueuedInvalidation(alias=alias, kind=kind, target=t) for kind, t in entries]
        )
        if any(row.pk is None for row in rows):  # a database that returns no ids
            return {}
        return {(row.kind, row.target): int(row.pk) for row in rows}
    except Exception as exc:
        _warn_once(exc)
        return {}


def load(alias: str, limit: int, known: set[Entry]) -> list[tuple[Entry, int]]:
    """Rows of ``alias`` this process does not hold yet, oldest first, at most ``limit``."""
    if not enabled():
        return []
    _adopted_at[alias] = time.monotonic()
    if limit <= 0:
        return []
    try:
        from cache_admin.models import QueuedInvalidation

        found: list[tuple[Entry, int]] = []
        rows = QueuedInvalidation.objects.filter(alias=alias).order_by("id")
        for pk, kind, target in rows.values_list("pk", "kind", "target")[: limit + len(known)]:
            if (kind, target) not in known and len(found) < limit:
                found.append(((kind, target), int(pk)))
        return found
    except Exception as exc:
        _warn_once(exc)
        return []


def count(alias: str) -> int:
    """Rows waiting for ``alias`` (0 when the database cannot say)."""
    if not enabled():
        return 0
    try:
        from cache_admin.models import QueuedInvalidation

        return int(QueuedInvalidation.objects.filter(alias=alias).count())
    except Exception as exc:
        _warn_once(exc)
        return 0


def forget(ids: Iterable[int | None]) -> None:
    """Delete replayed rows (whichever process replays an entry first deletes it)."""
    wanted = [pk for pk in ids if pk is not None]
    if not wanted or not enabled():
        return
    try:
        from cache_admin.models import QueuedInvalidation

        batch = 500  # well under every database's limit of query parameters
        for start in range(0, len(wanted), batch):
            QueuedInvalidation.objects.filter(pk__in=wanted[start : start + batch]).delete()
    except Exception as exc:
        _warn_once(exc)


def adoption_due(alias: str) -> bool:
    """True when this process last looked for rows of ``alias`` (``load``) longer than
    OUTBOX_ADOPT_INTERVAL ago, or never."""
    if not enabled():
        return False
    last = _adopted_at.get(alias)
    return last is None or time.monotonic() - last >= conf.OUTBOX_ADOPT_INTERVAL


@on_fork
def reset() -> None:
    """Forget when this process last looked for rows, and whether it warned (tests, and a
    forked child: it adopts on its first successful deletion)."""
    global _warned
    _adopted_at.clear()
    _warned = False


def _warn_once(exc: Exception) -> None:
    global _warned
    if _warned:
        return
    _warned = True
    logger.warning(
        "Queued invalidations cannot be kept in the database (%s: %s); they are kept in "
        "this process only until Redis is back",
        type(exc).__name__,
        exc,
    )
