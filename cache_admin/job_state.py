"""The shared state of background jobs: progress, a cancel flag and a one-at-a-time lock.

A job's state is a hash in the package namespace (``cache_admin:<kind>:<id>``) that expires
a day after its last write, so every web process can show a job that another process runs,
and a cancel asked for in one process is read by the job in another. Prefix deletions
(``deletion_jobs``), keyspace analyses (``analysis.jobs``) and find-all searches
(``keyspace.find_all``) keep their state here; the thread itself runs through
``background.run_job``.
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Any

from cache_admin import backend, stored_keys
from cache_admin.conf import conf
from cache_admin.guard import guarded

EXPIRE_SECONDS = 24 * 3600
# A running job not heard from for this long died with its process; its lock lapses then.
STALE_SECONDS = 120
CANCEL = "cancel"
_JOB_ID = re.compile(r"[0-9a-f]{32}")


class AlreadyRunning(Exception):
    def __init__(self, job_id: str, message: str) -> None:
        super().__init__(message)
        self.job_id = job_id


def is_job_id(value: Any) -> bool:
    return isinstance(value, str) and _JOB_ID.fullmatch(value) is not None


def state_key(kind: str, job_id: str) -> str:
    return stored_keys.stored_key(f"{conf.NAMESPACE}{kind}:{job_id}")


def lock_key(kind: str) -> str:
    return stored_keys.stored_key(f"{conf.NAMESPACE}{kind}:lock")


def pipeline(kind: str, job_id: str, fields: dict[str, Any]) -> Any:
    """A pipeline that writes ``fields`` (None as "") and keeps the state a day from now;
    the caller may queue more commands before executing it."""
    pipe = backend.client().pipeline(transaction=False)
    pipe.hset(
        state_key(kind, job_id),
        mapping={k: "" if v is None else str(v) for k, v in fields.items()},
    )
    pipe.expire(state_key(kind, job_id), EXPIRE_SECONDS)
    return pipe


def write(kind: str, job_id: str, fields: dict[str, Any]) -> None:
    guarded(lambda: pipeline(kind, job_id, fields).execute())


def heartbeat(kind: str, job_id: str, fields: dict[str, Any], *, locked: bool = False) -> bool:
    """Write the progress (and renew the lock); True when someone asked to cancel."""

    def run() -> bool:
        pipe = pipeline(kind, job_id, {**fields, "updated": time.time()})
        if locked:
            pipe.pexpire(lock_key(kind), STALE_SECONDS * 1000)
        pipe.hget(state_key(kind, job_id), CANCEL)
        return bool(pipe.execute()[-1])

    return guarded(run)


def read(kind: str, job_id: str) -> dict[str, str] | None:
    """The job's fields as text, from any process; None when unknown or expired."""
    data = guarded(lambda: backend.text_hash(state_key(kind, job_id)))
    return data or None


def number(data: dict[str, str], name: str) -> float:
    """A figure of the state; 0 when absent or not a number."""
    try:
        return float(data.get(name) or 0)
    except ValueError:
        return 0.0


def whole(data: dict[str, str], name: str) -> int:
    return int(number(data, name))


def request_cancel(kind: str, job_id: str) -> None:
    guarded(lambda: backend.client().hset(state_key(kind, job_id), CANCEL, "1"))


def claim(kind: str, job_id: str, fields: dict[str, Any], busy_message: str) -> None:
    """Take the kind's lock and write the first state; AlreadyRunning while another job
    of the kind holds it (until it ends, or STALE_SECONDS after its last heartbeat)."""

    def run() -> None:
        client = backend.client()
        if not client.set(lock_key(kind), job_id, nx=True, px=STALE_SECONDS * 1000):
            holder = client.get(lock_key(kind))
            text = holder.decode() if isinstance(holder, bytes) else str(holder)
            raise AlreadyRunning(text, busy_message)
        pipeline(kind, job_id, {**fields, "updated": time.time()}).execute()

    guarded(run)


def holder(kind: str) -> str | None:
    found = guarded(lambda: backend.client().get(lock_key(kind)))
    return found.decode() if isinstance(found, bytes) else None


def release(kind: str, job_id: str) -> None:
    """Best effort: Redis may be why the job ended; the lock then lapses by itself."""

    def run() -> None:
        client = backend.client()
        if client.get(lock_key(kind)) in (job_id, job_id.encode()):
            client.delete(lock_key(kind))

    with contextlib.suppress(Exception):
        guarded(run)
