"""The outbox's queue in this process: per cache alias, the stored keys and logical
prefixes waiting for Redis, each with its database row id, at most ``OUTBOX_MAX_KEYS``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cache_admin.background import on_fork
from cache_admin.conf import conf
from cache_admin.invalidation.outbox import durable, reports
from cache_admin.queued import KEY, PREFIX, Entry

Row = tuple[Entry, int | None]  # an entry and its database row id (None: none yet)


@dataclass
class Pending:
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


_pending: dict[str, Pending] = {}
_lock = threading.Lock()  # guards _pending
_on_queued: list[Callable[[], None]] = []


@on_fork
def _after_fork_in_child() -> None:
    # The parent replays its own queue (and its rows are in the database for anyone to
    # adopt): a forked worker that replayed it too would delete what the parent tracks.
    global _lock
    _lock = threading.Lock()
    _pending.clear()


def on_queued(hook: Callable[[], None]) -> None:
    """Call ``hook()`` after entries are queued (the retry thread starts itself so)."""
    if hook not in _on_queued:
        _on_queued.append(hook)


def queue_keys(stored_keys: Iterable[str], *, alias: str, reason: str = "") -> None:
    enqueue(alias, [((KEY, key), None) for key in stored_keys], reason=reason)


def queue_prefix(prefix: str, *, alias: str, reason: str = "") -> None:
    enqueue(alias, [((PREFIX, prefix), None)], reason=reason)


def enqueue(alias: str, rows: Iterable[Row], *, reason: str = "", persist: bool = True) -> None:
    """Queue entries (``persist``: write the new ones to the database), say so in the log."""
    limit = int(conf.OUTBOX_MAX_KEYS)
    with _lock:
        added, dropped, size = _add(alias, rows, limit)
    if persist and added:
        _remember_rows(alias, durable.save(alias, added))
    reports.queued(alias, dropped=dropped, size=size, limit=limit, reason=reason)
    for hook in list(_on_queued):
        hook()


def add(alias: str, rows: Iterable[Row]) -> list[Entry]:
    """Queue entries that are in the database already (adopted); answer those added."""
    with _lock:
        added, _dropped, _size = _add(alias, rows, int(conf.OUTBOX_MAX_KEYS))
    return added


def _add(alias: str, rows: Iterable[Row], limit: int) -> tuple[list[Entry], int, int]:
    # Callers hold _lock. Answers (added, dropped, queue size).
    added: list[Entry] = []
    dropped = 0
    pending = _pending.setdefault(alias, Pending())
    for entry, row in rows:
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


def take(alias: str) -> Pending | None:
    """Everything queued for ``alias``, removed from the queue (a replay's work)."""
    with _lock:
        return _pending.pop(alias, None)


def known(alias: str) -> tuple[set[Entry], int]:
    """The entries queued for ``alias`` and the room left beside them."""
    with _lock:
        pending = _pending.get(alias)
        entries = pending.entries() if pending else set()
    return entries, int(conf.OUTBOX_MAX_KEYS) - len(entries)


def aliases() -> list[str]:
    with _lock:
        return list(_pending)


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


def clear() -> None:
    """Forget everything queued (tests, or an operator who flushed Redis anyway)."""
    with _lock:
        _pending.clear()
    reports.clear()
    durable.reset()
