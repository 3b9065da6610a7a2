"""The TTL policy: ``ttl_for(type)`` = the active override, else the type's default, plus jitter.

``ttl_for`` reads an in-process snapshot and does no I/O (P2). Each process keeps the
snapshot fresh with a daemon thread that polls one small version key in Redis and reloads
the overrides from the database when it moves, and re-reads them from the database every
``POLICY_RELOAD_INTERVAL`` seconds in any case. A failed read keeps the last known
policy (C5): the database is the source of truth and nothing is reset to defaults.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from dataclasses import dataclass

from cache_admin import backend
from cache_admin.breaker import breaker_for
from cache_admin.conf import conf
from cache_admin.types import CacheType, all_types, get_type

logger = logging.getLogger("cache_admin")

VERSION_KEY = "policy:version"


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
        self.lock = threading.Lock()
        self.wake = threading.Event()


_snapshot = _Snapshot()


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
    fraction = float(conf.JITTER or 0)
    if fraction <= 0 or ttl <= 0:
        return ttl
    return ttl + random.randint(0, int(ttl * fraction))


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
    """Re-read overrides from the database; on failure keep the last known policy (C5)."""
    from django.db import connection

    from cache_admin.models import TTLOverride

    try:
        rows = dict(TTLOverride.objects.values_list("cache_type", "ttl"))
    except Exception as exc:
        logger.warning("TTL overrides could not be read, keeping the last known policy: %r", exc)
        return False
    finally:
        if threading.current_thread() is _snapshot.thread:
            connection.close()
    _snapshot.overrides = rows
    _snapshot.loaded = True
    _snapshot.loaded_at = time.monotonic()
    return True


def notify_changed() -> None:
    """Tell every process that overrides changed: reload here, bump the shared version."""
    reload()
    breaker = breaker_for(backend.alias())
    if not breaker.allow():
        return
    try:
        client = backend.client()
        _snapshot.version = str(
            client.incr(backend.stored_key(conf.NAMESPACE + VERSION_KEY))
        ).encode()
        breaker.success()
    except backend.REDIS_ERRORS as exc:
        breaker.failure(exc)
        logger.warning("TTL override change not announced through Redis: %r", exc)


def _read_version() -> bytes | None:
    breaker = breaker_for(backend.alias())
    if not breaker.allow():
        return _snapshot.version
    try:
        value = backend.client().get(backend.stored_key(conf.NAMESPACE + VERSION_KEY))
        breaker.success()
    except backend.REDIS_ERRORS as exc:
        breaker.failure(exc)
        return _snapshot.version
    except Exception:
        return _snapshot.version
    return value if isinstance(value, bytes) else None


def _poll_forever() -> None:
    while True:
        interval = float(conf.POLICY_POLL_INTERVAL)
        _snapshot.wake.wait(interval)
        _snapshot.wake.clear()
        try:
            version = _read_version()
            stale = time.monotonic() - _snapshot.loaded_at >= float(conf.POLICY_RELOAD_INTERVAL)
            if (version != _snapshot.version or stale or not _snapshot.loaded) and reload():
                _snapshot.version = version
        except Exception:  # the poller must never die
            logger.exception("TTL policy poller failed")


def _ensure_started() -> None:
    pid = os.getpid()
    if _snapshot.pid == pid:
        return
    with _snapshot.lock:
        if _snapshot.pid == pid:
            return
        # A new process (or a fork): the parent's thread did not come along.
        _snapshot.pid = pid
        _snapshot.version = _read_version()
        reload()
        thread = threading.Thread(target=_poll_forever, name="cache-admin-policy", daemon=True)
        _snapshot.thread = thread
        thread.start()


def reset_for_tests() -> None:
    """Forget the snapshot so the next lookup reloads (tests change overrides under it)."""
    _snapshot.overrides = {}
    _snapshot.loaded = False
    _snapshot.version = None
    _snapshot.wake.set()
