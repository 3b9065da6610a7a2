"""Deletions in the background, with progress every process can read.

``start()`` runs ``CacheInvalidator.iter_invalidate_prefix`` (or another toolkit iterator of
progress steps, e.g. a path's cached pages) in a background job thread
(``cache_admin.background``) and writes its progress to a hash in the package namespace
(``cache_admin:jobs:<id>``, expiring a day after the last write), so several staff on
several web processes can watch one job.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cache_admin import background, job_state
from cache_admin.job_state import EXPIRE_SECONDS as EXPIRE_SECONDS
from cache_admin.job_state import STALE_SECONDS

logger = logging.getLogger("cache_admin")

KIND = "jobs"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
# Called as hook(job_id, progress) after each progress write; tests use it to hold a job
# mid-run and look at it from outside.
progress_hooks: list[Callable[[str, dict[str, int]], None]] = []


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    prefix: str
    state: str  # RUNNING | DONE | FAILED
    user: str
    started: float  # epoch seconds
    finished: float | None
    scanned: int
    total: int  # an estimate of the keys to look at (for a progress bar)
    matched: int
    deleted: int
    error: str | None
    updated: float | None = None  # epoch seconds of the last progress write
    label: str = ""  # what is deleted, for people, when it is not simply "under <prefix>"

    @property
    def stale(self) -> bool:
        """Running on paper, but silent: its process died or lost Redis mid-way."""
        last = self.updated or self.started
        return self.state == RUNNING and time.time() - last > STALE_SECONDS

    @property
    def done(self) -> bool:
        return self.state != RUNNING

    @property
    def fraction(self) -> float:
        if self.state == DONE:
            return 1.0
        return min(0.99, self.scanned / self.total) if self.total > 0 else 0.0

    @property
    def percent(self) -> int:
        return int(self.fraction * 100)


def job_key(job_id: str) -> str:
    return job_state.state_key(KIND, job_id)


def validate_job_id(job_id: Any) -> str:
    if not job_state.is_job_id(job_id):
        raise ValueError("Not a deletion job id (32 hexadecimal characters expected).")
    return str(job_id)


def _write(job_id: str, fields: dict[str, Any]) -> None:
    """Progress is best effort: a lost write must not stop the deletion itself."""
    try:
        job_state.write(KIND, job_id, {**fields, "updated": time.time()})
    except Exception as exc:
        logger.warning("progress of deletion job %s not saved: %r", job_id, exc)


def _progress(step: Any) -> dict[str, int]:
    found = {}
    for name in ("scanned", "total", "matched", "deleted"):
        value = step.get(name) if isinstance(step, dict) else getattr(step, name, None)
        if isinstance(value, int):
            found[name] = value
    if isinstance(step, int):
        found["deleted"] = step
    return found


Steps = Callable[[], Iterable[Any]]


def _run(job_id: str, prefix: str, user: Any, steps: Steps, action: str) -> None:
    from django.db import connection

    from cache_admin import audit

    deleted = 0
    try:
        for step in steps():
            found = _progress(step)
            deleted = found.get("deleted", deleted)
            _write(job_id, found)
            for hook in list(progress_hooks):
                hook(job_id, found)
        _write(job_id, {"state": DONE, "finished": time.time()})
        audit.record(user, action, prefix, keys_affected=deleted, job=job_id)
    except Exception as exc:
        logger.exception("deletion job %s under %r failed", job_id, prefix)
        _write(job_id, {"state": FAILED, "finished": time.time(), "error": str(exc)[:500]})
        audit.record(user, action, prefix, keys_affected=deleted, job=job_id, error=str(exc)[:500])
    finally:
        connection.close()  # this thread's database connection


def start(
    prefix: str,
    user: Any = None,
    *,
    steps: Steps | None = None,
    action: str = "delete_prefix",
    label: str = "",
) -> str:
    """Start deleting the site's keys under a logical prefix; returns the job id.

    ``steps`` replaces the prefix deletion with another toolkit iterator of progress steps
    (``prefix`` then names the target in the audit entry, ``label`` says it for people).
    ValueError for an unusable prefix (empty, too long), before anything starts;
    RedisUnavailable when the job cannot even be recorded.
    """
    from cache_admin.invalidation import CacheInvalidator
    from cache_admin.invalidation.prefix import validate_prefix

    prefix = validate_prefix(prefix)
    if steps is None:
        target = prefix
        steps = lambda: CacheInvalidator.iter_invalidate_prefix(target)  # noqa: E731
    job_id = uuid.uuid4().hex
    who = str(getattr(user, "get_username", lambda: "")() or "") if user is not None else ""
    fields = {
        "prefix": prefix,
        "label": label,
        "state": RUNNING,
        "user": who,
        "started": time.time(),
    }

    job_state.write(KIND, job_id, fields)
    background.run_job(
        job_id,
        f"cache-admin-delete-{job_id[:8]}",
        lambda: _run(job_id, prefix, user, steps, action),
    )
    return job_id


def status(job_id: str) -> JobStatus | None:
    """The job's progress, from any process; None when unknown or expired."""
    job_id = validate_job_id(job_id)
    data = job_state.read(KIND, job_id)
    if data is None:
        return None

    def moment(name: str) -> float | None:
        try:
            return float(data[name]) if data.get(name) else None
        except ValueError:
            return None

    return JobStatus(
        job_id=job_id,
        prefix=data.get("prefix", ""),
        state=data.get("state", RUNNING),
        user=data.get("user", ""),
        started=moment("started") or 0.0,
        finished=moment("finished"),
        scanned=job_state.whole(data, "scanned"),
        total=job_state.whole(data, "total"),
        matched=job_state.whole(data, "matched"),
        deleted=job_state.whole(data, "deleted"),
        error=data.get("error") or None,
        updated=moment("updated"),
        label=data.get("label", ""),
    )


def join(job_id: str, timeout: float | None = None) -> bool:
    """Wait for a job started by this process; True when it has ended (commands, tests)."""
    return background.join_job(validate_job_id(job_id), timeout)
