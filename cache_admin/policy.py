"""The TTL policy: ``ttl_for(type)`` = the active override, else the type's default, plus jitter.

``ttl_for`` reads an in-process snapshot and does no I/O (P2). Each process keeps the
snapshot fresh with a listener thread (``cache_admin.background``): it re-reads the
overrides from the database when another process announces a change and whenever its
subscription to the announcements is (re)made (``policy_channel``: Redis pub/sub, no key
read or written), and every ``POLICY_RELOAD_INTERVAL`` seconds in any case. A failed read
keeps the last known policy (C5) and is tried again: the database is the source of truth
and nothing is reset to defaults.

The listener does its database reads on its own connection and closes it after each read,
so it never holds a connection (or a transaction) of a request thread. A forked child
starts its own listener on its first lookup, with fresh locks.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass

from cache_admin import policy_channel
from cache_admin.background import Worker, on_fork
from cache_admin.conf import conf
from cache_admin.types import MAX_TTL, MIN_TTL, CacheType, all_types, get_type, ttl_in_range

__all__ = ["EffectiveTTL", "effective_ttls", "notify_changed", "overrides", "reload", "ttl_for"]

logger = logging.getLogger("cache_admin")

# How long the first lookup in a process waits for the listener's first load (seconds).
FIRST_LOAD_WAIT = 2.0


@dataclass(frozen=True)
class EffectiveTTL:
    cache_type: CacheType
    default: int
    override: int | None
    # An override row outside 1 s - 30 days: not applied, the default is in force.
    ignored: int | None = None

    @property
    def effective(self) -> int:
        return self.override if self.override is not None else self.default


class _Snapshot:
    def __init__(self) -> None:
        self.overrides: dict[str, int] = {}
        self.ignored: dict[str, int] = {}  # out-of-range rows, by type
        self.reported: set[tuple[str, int]] = set()  # ignored rows logged already
        self.loaded = False
        self.loaded_at = 0.0
        self.started = False  # the listener was started in this process
        self.read_failing = False
        self.fresh_locks()

    def fresh_locks(self) -> None:
        self.start_lock = threading.Lock()
        # Serialises reads of the table with their publication, so an older read never
        # overwrites a newer one, and reset_for_tests() is never undone by a late reload.
        self.reload_lock = threading.Lock()
        self.first_load = threading.Event()


_snapshot = _Snapshot()


@on_fork
def _after_fork_in_child() -> None:
    # The overrides stay (the last known policy) until the child's own listener reloads.
    _snapshot.fresh_locks()
    _snapshot.started = False


def ttl_for(cache_type: str | CacheType | None, *, jitter: bool = True) -> int | None:
    """The TTL to write now for ``cache_type`` (a name or a CacheType). No I/O (P2).

    An unknown or missing type gives ``CACHE_ADMIN["DEFAULT_TTL"]`` (None: the cache's default).
    """
    base = base_ttl(cache_type)
    if base is None:
        return None
    return jittered(base) if jitter else base


def base_ttl(cache_type: str | CacheType | None) -> int | None:
    _ensure_started()
    found = get_type(cache_type) if isinstance(cache_type, str) else cache_type
    if found is None:
        return conf.DEFAULT_TTL
    return _snapshot.overrides.get(found.name, found.ttl)


def jittered(ttl: int) -> int:
    """Base TTL plus up to ``JITTER`` of it, never below the base (spec: Cache Miss Storm)."""
    fraction = conf.JITTER
    if not fraction > 0 or ttl <= 0:
        return ttl
    return ttl + random.randint(0, int(ttl * fraction))


def effective_ttls() -> list[EffectiveTTL]:
    _ensure_started()
    overrides, ignored = _snapshot.overrides, _snapshot.ignored
    return [
        EffectiveTTL(t, t.ttl, overrides.get(t.name), ignored.get(t.name))
        for t in sorted(all_types().values(), key=lambda t: t.label.lower())
    ]


def overrides() -> dict[str, int]:
    _ensure_started()
    return dict(_snapshot.overrides)


def reload() -> bool:
    """Re-read overrides from the database; on failure keep the last known policy (C5).

    Callable from any thread: a request thread sees its own uncommitted rows, the listener
    reads on a connection of its own that it closes again.
    """
    with _snapshot.reload_lock:
        return _reload_locked()


def _reload_locked() -> bool:
    # Callers hold reload_lock: reads and their publication are serialised, so an older
    # read never overwrites a newer one.
    from django.db import connections

    from cache_admin.models import TTLOverride

    using = TTLOverride.objects.db
    try:
        rows = dict(TTLOverride.objects.using(using).values_list("cache_type", "ttl"))
    except Exception as exc:
        # Logged once per outage, not on every retry while the database is away.
        log = logger.debug if _snapshot.read_failing else logger.warning
        log("TTL overrides could not be read, keeping the last known policy: %r", exc)
        _snapshot.read_failing = True
        return False
    finally:
        if threading.current_thread() is listener.thread:
            connections[using].close()
    if _snapshot.read_failing:
        logger.warning("TTL overrides readable again")
        _snapshot.read_failing = False
    _snapshot.overrides, _snapshot.ignored = _in_range(rows)
    _snapshot.loaded = True
    _snapshot.loaded_at = time.monotonic()
    return True


def _in_range(rows: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """Split rows into the overrides to apply and those outside 1 s - 30 days.

    The admin form refuses such values and the table has a constraint, but a row can come
    from elsewhere (a database that does not enforce it, a restored dump): the runtime
    applies only what it can trust. An ignored row leaves the type's default in force, and
    is logged once per process and value.
    """
    valid: dict[str, int] = {}
    ignored: dict[str, int] = {}
    for name, ttl in rows.items():
        if ttl_in_range(ttl):
            valid[name] = ttl
            continue
        ignored[name] = ttl
        if (name, ttl) not in _snapshot.reported:
            _snapshot.reported.add((name, ttl))
            logger.error(
                "TTL override for %r is %r s, outside %d s - %d s: ignored, the type's "
                "default applies",
                name,
                ttl,
                MIN_TTL,
                MAX_TTL,
            )
    return valid, ignored


def notify_changed() -> None:
    """Tell every process that overrides changed: reload here, announce it to the others."""
    reload()
    policy_channel.announce()


def refresh(*, changed: bool) -> bool:
    """One step of the listener: re-read when told of a change, when the last read failed
    (an announced change is never lost to a failed read) or when the snapshot is old.

    Returns whether a reload happened and succeeded.
    """
    with _snapshot.reload_lock:
        old = time.monotonic() - _snapshot.loaded_at >= float(conf.POLICY_RELOAD_INTERVAL)
        if not (changed or old or _snapshot.read_failing or not _snapshot.loaded):
            return False
        return _reload_locked()


def _listen(worker: Worker) -> None:
    subscription = policy_channel.Subscription()
    changed = False
    try:
        while not worker.stopping:
            try:
                # The first pass reads at once (the process's first lookups wait for it);
                # the subscription's confirmation then re-reads what changed meanwhile.
                refresh(changed=changed)
                _snapshot.first_load.set()
                policy_channel.flush_unsent()
                changed = subscription.wait(float(conf.POLICY_POLL_INTERVAL), worker.sleep)
            except Exception:  # the listener must never die
                logger.exception("TTL policy listener failed")
                _snapshot.first_load.set()
                worker.sleep(float(conf.POLICY_POLL_INTERVAL))
    finally:
        subscription.close()


listener = Worker("cache-admin-policy", _listen)


def _ensure_started() -> None:
    if _snapshot.started:
        return
    with _snapshot.start_lock:
        if _snapshot.started:
            return
        listener.start()
        # Only a process's first lookups wait (other threads queue on the lock), and only
        # for the listener's first read, so a new worker does not write default TTLs for
        # types that staff have overridden. A hung database costs this wait once.
        _snapshot.first_load.wait(FIRST_LOAD_WAIT)
        _snapshot.started = True


def reset_for_tests() -> None:
    """Start from an empty policy, as the test database does.

    The snapshot is declared freshly loaded (no overrides), so the listener, whose
    connection cannot see rows a test has not committed, does not reload on its own; a
    test's saves announce themselves through notify_changed() as usual.
    """
    with _snapshot.reload_lock:
        _snapshot.overrides = {}
        _snapshot.ignored = {}
        _snapshot.reported = set()
        _snapshot.loaded = True
        _snapshot.loaded_at = time.monotonic()
        _snapshot.read_failing = False
