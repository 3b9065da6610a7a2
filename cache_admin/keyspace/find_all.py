"""Find every key under a prefix: a background job that walks the whole keyspace.

The key browser's pages stay within their scan budget (P5); this job is what walks past
it. It runs SCAN batches of ``SCAN_COUNT`` keys on every primary node (each command stays
as short as a page's), appends what it finds to a list in the package namespace (at most
``MAX_FOUND`` keys), and writes its progress after each batch in the pipeline that reads
its cancel flag (``job_state``), so any web process can show the keys as they come in and
stop the job. One search runs at a time per cache.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from cache_admin import backend, background, job_state
from cache_admin.conf import conf
from cache_admin.guard import guarded
from cache_admin.keyspace import params
from cache_admin.keyspace.scan import KeyInfo, key_infos
from cache_admin.keyspace.walk import start_walk

logger = logging.getLogger("cache_admin")

KIND = "find"
RUNNING = "running"
DONE = "done"
CANCELLED = "cancelled"
FAILED = "failed"
MAX_FOUND = 10_000
BUSY = "A search is already running; follow it, or cancel it before starting another."
# The walk has no budget of its own: it ends with the keyspace (or MAX_FOUND, or a cancel).
_WHOLE = 2**62
# Progress is written (and the cancel flag read) after a batch that found keys, else at
# most this often: a round trip per SCAN batch would cost a sparse search a third more.
HEARTBEAT_SECONDS = 0.1
# Called as hook(job_id, found) after each batch's progress write; tests use it to hold a
# search mid-walk (a cancel or an outage asked for meanwhile is met at the next batch).
batch_hooks: list[Callable[[str, int], None]] = []


@dataclass(frozen=True)
class FindStatus:
    job_id: str
    prefix: str
    state: str  # RUNNING | DONE | CANCELLED | FAILED
    user: str
    scanned: int
    total: int  # keys on the primaries when the search started (for the progress bar)
    found: int
    capped: bool  # stopped at MAX_FOUND
    error: str
    updated: float
    cancel_requested: bool

    @property
    def stale(self) -> bool:
        """Running on paper, but silent: its process died or lost Redis mid-way."""
        return self.state == RUNNING and time.time() - self.updated > job_state.STALE_SECONDS

    @property
    def done(self) -> bool:
        return self.state != RUNNING or self.stale

    @property
    def percent(self) -> int:
        if self.state == DONE:
            return 100
        return min(99, self.scanned * 100 // self.total) if self.total > 0 else 0


def validate_job_id(job_id: Any) -> str:
    if not job_state.is_job_id(job_id):
        raise ValueError("Not a search id (32 hexadecimal characters expected).")
    return str(job_id)


def _prefix(value: Any) -> str:
    prefix = params.prefix(value)
    if not prefix:
        raise ValueError("Give a prefix to search under; the key list pages the whole keyspace.")
    return prefix


def _items_key(job_id: str) -> str:
    return f"{job_state.state_key(KIND, job_id)}:keys"


def start(prefix: str, user: Any = None) -> str:
    """Start a search; its id. ValueError for an unusable prefix; AlreadyRunning (with the
    running search's id) while another runs on this cache; RedisUnavailable when Redis
    cannot be reached (nothing is started then)."""
    prefix = _prefix(prefix)
    job_id = uuid.uuid4().hex
    total = guarded(lambda: sum(int(c.dbsize()) for c in backend.primary_clients()))
    who = str(getattr(user, "get_username", lambda: "")() or "") if user is not None else ""
    fields = {"prefix": prefix, "state": RUNNING, "user": who, "total": total, "found": 0}
    job_state.claim(KIND, job_id, fields, BUSY)
    background.run_job(job_id, f"cache-admin-find-{job_id[:8]}", lambda: _run(job_id, prefix))
    return job_id


def _run(job_id: str, prefix: str) -> None:
    found, scanned, written = 0, 0, 0.0
    state, error = FAILED, ""
    try:
        walk = guarded(lambda: start_walk(prefix, _WHOLE))
        batches = walk.batches(conf.SCAN_COUNT)
        while True:
            batch = guarded(lambda: next(batches, None))
            if batch is None:
                state = DONE
                break
            node, keys = batch
            scanned = walk.scanned
            keys = keys[: MAX_FOUND - found]
            if keys:
                guarded(partial(_append, job_id, node, keys))
                found += len(keys)
            if keys or time.monotonic() - written >= HEARTBEAT_SECONDS:
                written = time.monotonic()
                fields = {"scanned": scanned, "found": found, "capped": int(found >= MAX_FOUND)}
                if job_state.heartbeat(KIND, job_id, fields, locked=True):
                    state = CANCELLED
                    break
            for hook in list(batch_hooks):
                hook(job_id, found)
            if found >= MAX_FOUND:
                state = DONE
                break
    except Exception as exc:  # the status says why; the log keeps the trace
        logger.exception("search %s under %r failed", job_id, prefix)
        error = str(exc)[:500] or type(exc).__name__
    finally:
        try:
            last = {"state": state, "error": error, "found": found, "scanned": scanned}
            job_state.write(KIND, job_id, {**last, "updated": time.time()})
        except Exception as exc:  # Redis is gone: the status turns stale and says so
            logger.warning("search %s: its end could not be recorded: %r", job_id, exc)
        job_state.release(KIND, job_id)


def _append(job_id: str, node: int, keys: list[bytes]) -> None:
    pipe = backend.client().pipeline(transaction=False)
    pipe.rpush(_items_key(job_id), *(b"%d " % node + key for key in keys))
    pipe.expire(_items_key(job_id), job_state.EXPIRE_SECONDS)
    pipe.execute()


def status(job_id: str) -> FindStatus | None:
    """A search's progress, from any process; None when unknown or expired."""
    job_id = validate_job_id(job_id)
    data = job_state.read(KIND, job_id)
    if data is None:
        return None

    return FindStatus(
        job_id=job_id,
        prefix=data.get("prefix", ""),
        state=data.get("state", RUNNING),
        user=data.get("user", ""),
        scanned=job_state.whole(data, "scanned"),
        total=job_state.whole(data, "total"),
        found=job_state.whole(data, "found"),
        capped=bool(job_state.whole(data, "capped")),
        error=data.get("error", ""),
        updated=job_state.number(data, "updated"),
        cancel_requested=bool(data.get(job_state.CANCEL)),
    )


def found_keys(job_id: str, offset: int, count: int) -> list[KeyInfo]:
    """Up to ``count`` of the keys found, from ``offset`` on, with TYPE, TTL and size."""
    job_id = validate_job_id(job_id)
    offset = params.whole_number(offset, "offset", 0, MAX_FOUND)
    count = params.page_size(count)

    def run() -> list[KeyInfo]:
        clients = backend.primary_clients()
        raw = backend.client().lrange(_items_key(job_id), offset, offset + count - 1)
        located = []
        for item in raw:
            text = item if isinstance(item, bytes) else str(item).encode()
            node, _, key = text.partition(b" ")
            if node.isdigit() and int(node) < len(clients):
                located.append((int(node), key))
        return key_infos(clients, located)

    return guarded(run)


def cancel(job_id: str) -> bool:
    """Ask a running search to stop after its current batch; False when it is not running."""
    found = status(job_id)
    if found is None or found.done:
        return False
    job_state.request_cancel(KIND, job_id)
    return True


def running() -> str | None:
    """The id of the search running on this cache, if any."""
    return job_state.holder(KIND)


def join(job_id: str, timeout: float | None = None) -> bool:
    """Wait for a search started by this process; True when it has ended (tests, commands)."""
    return background.join_job(validate_job_id(job_id), timeout)
