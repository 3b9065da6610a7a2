"""Is there a Celery broker and a worker to run warm jobs? Asked with short timeouts (R3).

A warm request says within a few seconds that nothing will run it, instead of showing a
job that never moves. Answers are kept for a few seconds per process, so a page that
polls does not ping the workers on every request.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.utils.translation import gettext as _

from cache_admin.background import on_fork
from cache_admin.conf import conf

MEMO_SECONDS = 5.0
# The workers' capacity changes rarely (a restart, autoscaling), and asking for it waits out
# the whole timeout (nobody knows how many workers will answer): kept longer.
SLOTS_MEMO_SECONDS = 30.0

_memo: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()


@on_fork
def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # never held for good by a thread gone with the fork


def celery_app() -> Any | None:
    """The current Celery app, or None when Celery is missing or has no broker configured."""
    try:
        from celery import current_app
    except ImportError:
        return None
    app = current_app._get_current_object()
    if not (app.conf.broker_url or os.environ.get("CELERY_BROKER_URL")):
        return None
    return app


def safe_url(url: str) -> str:
    """A broker URL without its password, fit to show to staff."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "?"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def broker_problem(app: Any | None = None, *, memo: bool = True) -> str | None:
    """What stops a warm job from being queued, or None when the broker answers."""
    app = app or celery_app()
    if app is None:
        return _(
            "Celery is not configured (no broker URL), so warm jobs cannot be queued. "
            "Run python manage.py warm_cache --all instead, or give the project a Celery app "
            "with a broker (CELERY_BROKER_URL, e.g. redis://localhost:6379/1) and start a "
            "worker: celery -A <project> worker."
        )
    found: str | None = _remembered(f"broker:{id(app)}", lambda: _check_broker(app), memo)
    return found


def worker_problem(app: Any | None = None, *, memo: bool = True) -> str | None:
    """Whether any worker answers a ping within the check timeout."""
    app = app or celery_app()
    if app is None:
        return broker_problem(app)
    found: str | None = _remembered(f"worker:{id(app)}", lambda: _check_workers(app), memo)
    return found


def worker_slots(app: Any | None = None, *, memo: bool = True) -> int | None:
    """How many tasks the workers that answer can run at once (the sum of their pools'
    max-concurrency), or None when none answered: a solo pool busy with a task answers
    nothing until the task ends."""
    app = app or celery_app()
    if app is None:
        return None
    found: int | None = _remembered(
        f"slots:{id(app)}",
        lambda: _count_slots(app),
        memo,
        # No answer may be a solo worker busy for a moment: asked again sooner.
        lambda slots: MEMO_SECONDS if slots is None else SLOTS_MEMO_SECONDS,
    )
    return found


def reset() -> None:
    with _lock:
        _memo.clear()


def _remembered(
    key: str, check: Any, memo: bool, seconds: Callable[[Any], float] = lambda _: MEMO_SECONDS
) -> Any:
    now = time.monotonic()
    if memo:
        with _lock:
            found = _memo.get(key)
        if found is not None and found[0] > now:
            return found[1]
    answer = check()
    with _lock:
        _memo[key] = (time.monotonic() + seconds(answer), answer)
    return answer


def _check_broker(app: Any) -> str | None:
    timeout = conf.CELERY_CHECK_TIMEOUT
    url = str(app.conf.broker_url or os.environ.get("CELERY_BROKER_URL", ""))
    try:
        with app.connection_for_write(connect_timeout=timeout) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=timeout
            )
    except Exception as exc:
        return _("The Celery broker at %(url)s is unreachable: %(error)s") % {
            "url": safe_url(url),
            "error": exc,
        }
    return None


def _check_workers(app: Any) -> str | None:
    timeout = min(conf.CELERY_CHECK_TIMEOUT, 2.0)
    try:
        # limit=1: the first reply is enough, no need to wait out the timeout.
        replies = app.control.ping(timeout=timeout, limit=1)
    except Exception as exc:
        return _("Celery workers could not be asked: %(error)s") % {"error": exc}
    if not replies:
        return _(
            "No Celery worker answered within %(seconds)s s: queued warm jobs will wait "
            "until a worker starts (celery -A <project> worker)."
        ) % {"seconds": f"{timeout:g}"}
    return None


def _count_slots(app: Any) -> int | None:
    timeout = min(conf.CELERY_CHECK_TIMEOUT, 2.0)
    try:
        # Every worker that answers within the timeout: there is no count to stop at.
        replies = app.control.inspect(timeout=timeout).stats() or {}
    except Exception:
        return None
    slots = 0
    for stats in replies.values():
        pool = stats.get("pool") if isinstance(stats, dict) else None
        size = pool.get("max-concurrency") if isinstance(pool, dict) else None
        slots += size if isinstance(size, int) and size > 0 else 1
    return slots or None
