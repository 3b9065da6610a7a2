"""The TTL policy: ``ttl_for(type)`` = the active override, else the type's default, plus jitter.

``ttl_for`` reads an in-process snapshot and does no I/O (P2). Each process keeps the
snapshot fresh with a daemon thread that polls one small version key in Redis and reloads
the overrides from the database when it moves, and re-reads them from the database every
``POLICY_RELOAD_INTERVAL`` seconds in any case. A failed read keeps the last known
policy (C5): the database is the source of truth and nothing is reset to defaults.

The poller does its database reads on its own connection and closes it after each read,
so it never holds a connection (or a transaction) of a request thread. After a fork the
child starts its own poller; the locks are recreated so a lock held in the parent at fork
time cannot freeze the child.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import threading
import time
from dataclasses import dataclass

import redis

from cache_admin import backend
from cache_admin.breaker import breaker_for
from cache_admin.conf import conf
from cache_admin.types import CacheType, all_types, get_type

__all__ = ["EffectiveTTL", "effective_ttls", "notify_changed", "overrides", "reload", "ttl_for"]

logger = logging.getLogger("cache_admin")

VERSION_KEY = "policy:version"
# How long the first lookup in a process waits for the poller's first load (seconds).
FIRST_LOAD_WAIT = 2.0


@dataclass(frozen=True)
class EffectiveTTL:
    cache_type: CacheType
    default: int
    override: int | None

    @property
    def effective(self) -> int:
        return self.override if self.override is not None else self.default


class _Snapshot:
    def __init__(self) -> None:
        self.overrides: dict[str, int] = {}
        self.loaded = False
        self.version: bytes | None = None
        self.loaded_at = 0.0
        self.pid: int | None = None
        self.thread: threading.Thread | None = None
        self.read_failing = False
        self.fresh_locks()

    def fresh_locks(self) -> None:
        self.start_lock = threading.Lock()
        # Serialises reads of the table with their publication, so an older read never
        # overwrites a newer one, and reset_for_tests() is never undone by a late reload.
        self.reload_lock = threading.Lock()
        self.wake = threading.Event()
        self.first_load = threading.Event()


_snapshot = _Snapshot()


def _after_fork_in_child() -> None:
    _snapshot.fresh_locks()
    _snapshot.pid = None
    _snapshot.thread = None


os.register_at_fork(after_in_child=_after_fork_in_child)


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
        default = conf.DEFAULT_TTL
        return None if default is None else int(default)
    return _snapshot.overrides.get(found.name, found.ttl)


def jittered(ttl: int) -> int:
    """Base TTL plus up to ``JITTER`` of it, never below the base (spec: Cache Miss Storm)."""
    try:
        fraction = float(conf.JITTER or 0)
    except (TypeError, ValueError):  # a bad setting is reported by a system check
        return ttl
    if not fraction > 0 or ttl <= 0:
        return ttl
    return ttl + random.randint(0, int(ttl * min(fraction, 1.0)))


def effective_ttls() -> list[EffectiveTTL]:
    _ensure_started()
    return [
        EffectiveTTL(t, t.ttl, _snapshot.overrides.get(t.name))
        for t in sorted(all_types().values(), key=lambda t: t.label.lower())
    ]


def overrides() -> dict[str, int]:
    _ensure_started()
    return dict(_snapshot.overrides)


def reload() -> bool:
    """Re-read overrides from the database; on failure keep the last known policy (C5).

    Callable from any thread: a request thread sees its own uncommitted rows, the poller
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
        rows = {
            name: int(ttl)
            for name, ttl in TTLOverride.objects.using(using).values_list("cache_type", "ttl")
        }
    except Exception as exc:
        # Logged once per outage, not on every poll while the database is away.
        log = logger.debug if _snapshot.read_failing else logger.warning
        log("TTL overrides could not be read, keeping the last known policy: %r", exc)
        _snapshot.read_failing = True
        return False
    finally:
        if threading.current_thread() is _snapshot.thread:
            connections[using].close()
    if _snapshot.read_failing:
        logger.warning("TTL overrides readable again")
        _snapshot.read_failing = False
    _snapshot.overrides = rows
    _snapshot.loaded = True
    _snapshot.loaded_at = time.monotonic()
    return True


def notify_changed() -> None:
    """Tell every process that overrides changed: reload here, move the shared version."""
    # Under the lock, this process's poller cannot see the new version before this
    # process has published what it read (and adopt a read of its own in between).
    with _snapshot.reload_lock:
        _reload_locked()
        _announce()


def _announce() -> None:
    try:
        client = backend.client()
    except Exception as exc:  # not a Redis cache: checks report it
        logger.warning("TTL override change not announced: %r", exc)
        return
    breaker = breaker_for(backend.alias())
    if not breaker.allow():
        logger.warning("TTL override change not announced: Redis is unreachable")
        return
    try:
        token = _write_version(client, backend.stored_key(conf.NAMESPACE + VERSION_KEY))
    except backend.REDIS_ERRORS as exc:
        breaker.failure(exc)
        logger.warning("TTL override change not announced through Redis: %r", exc)
        return
    breaker.success()
    _snapshot.version = token


def _read_version() -> bytes | None:
    try:
        client = backend.client()
    except Exception:  # not a Redis cache: only the slow reload applies
        return _snapshot.version
    breaker = breaker_for(backend.alias())
    if not breaker.allow():
        return _snapshot.version
    try:
        value = _fetch_version(client, backend.stored_key(conf.NAMESPACE + VERSION_KEY))
    except backend.REDIS_ERRORS as exc:
        breaker.failure(exc)
        return _snapshot.version
    except redis.RedisError:  # the server answered (e.g. WRONGTYPE): it is reachable
        breaker.success()
        return _snapshot.version
    breaker.success()
    return value


def _fetch_version(client: redis.Redis, key: str) -> bytes | None:
    """Read the version without counting in the server's keyspace hits and misses.

    A GET twice a second per process would count in INFO's hit rate, the figure staff
    judge the cache by (as misses while no override was ever saved). ``INCRBY key 0`` is a
    write: Redis counts no hit or miss for it, and it leaves the value as it is (creating
    "0" when the key is missing, which no announcement ever writes).
    """
    try:
        return str(client.incrby(key, 0)).encode()
    except redis.ResponseError:
        # Not an integer (written by something else): start a fresh version.
        return _write_version(client, key)


def _write_version(client: redis.Redis, key: str) -> bytes:
    # A random number, not a counter: a version key lost to eviction and recreated can
    # never repeat a value another process has already seen.
    token = str(secrets.randbits(62) + 1).encode()
    client.set(key, token)
    return token


def poll_once() -> bool:
    """One step of the poller: reload when the version moved, the snapshot is old or unloaded.

    Returns whether a reload happened and succeeded.
    """
    with _snapshot.reload_lock:
        version = _read_version()
        stale = time.monotonic() - _snapshot.loaded_at >= float(conf.POLICY_RELOAD_INTERVAL)
        if version == _snapshot.version and not stale and _snapshot.loaded:
            return False
        if not _reload_locked():
            return False
        _snapshot.version = version
        return True


def _poll_forever() -> None:
    first = True
    while True:
        if not first:
            _snapshot.wake.wait(float(conf.POLICY_POLL_INTERVAL))
            _snapshot.wake.clear()
        try:
            poll_once()
        except Exception:  # the poller must never die
            logger.exception("TTL policy poller failed")
        if first:
            first = False
            _snapshot.first_load.set()


def _ensure_started() -> None:
    pid = os.getpid()
    if _snapshot.pid == pid:
        return
    with _snapshot.start_lock:
        if _snapshot.pid == pid:
            return
        # A new process (or a fork): the parent's thread did not come along.
        _snapshot.first_load.clear()
        thread = threading.Thread(target=_poll_forever, name="cache-admin-policy", daemon=True)
        _snapshot.thread = thread
        thread.start()
        # Only a process's first lookups wait (other threads queue on the lock), and only
        # for the poller's first read, so a new worker does not write default TTLs for
        # types that staff have overridden. A hung database costs this wait once.
        _snapshot.first_load.wait(FIRST_LOAD_WAIT)
        _snapshot.pid = pid


def reset_for_tests() -> None:
    """Start from an empty policy, as the test database does.

    The snapshot is declared loaded (no overrides) at the version Redis holds now, so the
    poller, whose connection cannot see rows a test has not committed, does not reload on
    its own; a test's saves announce themselves through notify_changed() as usual.
    """
    with _snapshot.reload_lock:
        _snapshot.overrides = {}
        _snapshot.loaded = True
        _snapshot.loaded_at = time.monotonic()
        _snapshot.version = _read_version()
