"""How processes tell each other that TTL overrides changed: Redis pub/sub.

The process that saves a change PUBLISHes on one channel of the site's namespace; every
process's policy listener (``policy.py``) SUBSCRIBEs to it and re-reads the overrides from
the database on each message from another process and on every (re)subscription. Nothing
here reads or writes a key: PUBLISH, SUBSCRIBE and PING never count in INFO's keyspace
hits and misses (the dashboard's server hit rate stays the site's own), and nothing is
written to the dataset or the AOF while no one changes a TTL.

A message can only be missed while a connection is down, and a reconnection re-reads the
overrides. A connection that died silently (a peer gone without a reset) is found by a
PING every ``POLICY_POLL_INTERVAL`` that gets no answer within the next one; it is then
reopened, and so re-read. An announcement that could not be sent (Redis unreachable
from the saving process) is sent again from the listener's loop until it gets through.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from cache_admin import backend, stored_keys
from cache_admin.background import on_fork
from cache_admin.conf import conf
from cache_admin.guard import guarded

logger = logging.getLogger("cache_admin")

CHANNEL = "policy:changed"  # logical name, inside the site's KEY_PREFIX and NAMESPACE
_PING = "cache-admin-policy"
# Reconnection attempts back off from POLICY_POLL_INTERVAL to this (seconds).
MAX_BACKOFF = 5.0


class _Process:
    def __init__(self) -> None:
        # Tags this process's own announcements: its snapshot is already fresh.
        self.origin = secrets.token_hex(8).encode()
        self.unsent = False  # an announcement is owed to the other processes
        self.lock = threading.Lock()


_process = _Process()


@on_fork
def _after_fork_in_child() -> None:
    global _process
    # The child reloads for itself; it must not skip its parent's announcements, nor owe
    # the parent's.
    _process = _Process()


def channel() -> str:
    return stored_keys.stored_key(conf.NAMESPACE + CHANNEL)


def announce() -> bool:
    """Tell the other processes to reload; when Redis cannot be reached the announcement
    is owed, and the listener's loop sends it (``flush_unsent``) once Redis answers."""
    with _process.lock:
        _process.unsent = True
    if flush_unsent():
        return True
    logger.warning("TTL override change not announced yet: Redis is unreachable (retried)")
    return False


def flush_unsent() -> bool:
    """Send the owed announcement, if any; True when nothing is owed any more."""
    process = _process
    with process.lock:
        if not process.unsent:
            return True
        try:
            client = backend.client()
            guarded(lambda: client.publish(channel(), process.origin))
        except backend.REDIS_ERRORS:
            return False
        except Exception as exc:  # not a Redis cache (checks say so), or an error reply
            logger.warning("TTL override change not announced: %r", exc)
        process.unsent = False
        return True


class Subscription:
    """This process's subscription; :meth:`wait` answers whether the overrides must be re-read.

    Lives in one thread (the policy listener). It follows the settings: a change of the
    cache alias, its server or its key prefix moves the subscription (and re-reads).
    """

    def __init__(self) -> None:
        self._pubsub: Any = None
        self._target: tuple[object, str] | None = None
        self._pinged_at: float | None = None
        self._heard_at = 0.0
        self._retry_at = 0.0
        self._backoff = 0.0

    def wait(self, timeout: float, sleep: Callable[[float], object]) -> bool:
        """Wait up to ``timeout`` for news; True when the overrides must be re-read (a
        message from another process, or a new subscription that may have missed some)."""
        try:
            target = self._current_target()
        except Exception:  # not a Redis cache, or no such alias: the checks report it
            self.close()
            sleep(timeout)
            return False
        if self._pubsub is not None and target != self._target:
            self.close()
        if self._pubsub is None:
            if time.monotonic() < self._retry_at:
                sleep(min(timeout, self._retry_at - time.monotonic()))
                return False
            return self._open(target, timeout)
        try:
            return self._read(timeout)
        except Exception as exc:  # redis-py raises more than REDIS_ERRORS from a dead socket
            self._failed(exc)
            return False

    def close(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._target = None
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception as exc:
                logger.debug("policy subscription not closed cleanly: %r", exc)

    def _current_target(self) -> tuple[object, str]:
        # A plain client is made per call around a shared pool; a cluster client is shared.
        client = backend.client()
        return getattr(client, "connection_pool", client), channel()

    def _open(self, target: tuple[object, str], timeout: float) -> bool:
        try:
            pubsub = backend.subscriber()
            self._pubsub, self._target = pubsub, target
            pubsub.subscribe(target[1])
            return self._read(timeout)
        except Exception as exc:
            self._failed(exc)
            return False

    def _failed(self, exc: Exception) -> None:
        self.close()
        interval = float(conf.POLICY_POLL_INTERVAL)
        self._backoff = min(MAX_BACKOFF, max(interval, self._backoff * 2))
        self._retry_at = time.monotonic() + self._backoff
        logger.debug("policy subscription lost (%r); retried in %.1f s", exc, self._backoff)

    def _read(self, timeout: float) -> bool:
        """Read what arrived within ``timeout``; PING when quiet, and give up on a
        connection whose PING went unanswered for a whole interval."""
        pubsub = self._pubsub
        interval = float(conf.POLICY_POLL_INTERVAL)
        reload = False
        message = pubsub.get_message(timeout=timeout)
        while message is not None:
            now = self._heard_at = time.monotonic()
            kind, data = message.get("type"), message.get("data")
            if kind == "subscribe":  # (re)subscribed: anything may have been missed
                self._backoff = 0.0
                self._pinged_at = None
                reload = True
            elif kind == "pong":
                self._pinged_at = None
            elif kind == "message" and data != _process.origin:
                reload = True
            message = pubsub.get_message(timeout=0)
        now = time.monotonic()
        if self._pinged_at is not None:
            if now - self._pinged_at > interval:
                raise redis.exceptions.TimeoutError("no answer to PING on the subscription")
        elif now - self._heard_at >= interval and pubsub.subscribed:
            pubsub.ping(_PING)
            self._pinged_at = now
        return reload
