"""Run one warmer and record the run (WarmRun), inline or inside a Celery task."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sized
from typing import Any

from django.utils import timezone

from cache_admin import counters
from cache_admin.models import WarmRun
from cache_admin.warming.history import prune_quietly
from cache_admin.warming.progress import Listener, Progress
from cache_admin.warming.registry import UnknownWarmer, WarmOutput, get_warmer

logger = logging.getLogger("cache_admin.warming")

ERROR_MAX = 2000


def create_run(name: str, *, trigger: str, user: Any = None, task_id: str = "") -> WarmRun:
    return WarmRun.objects.create(
        warmer=name,
        trigger=trigger[:200],
        user=user if getattr(user, "is_authenticated", False) else None,
        task_id=task_id,
        status=WarmRun.QUEUED,
    )


def run_inline(
    name: str, *, trigger: str, user: Any = None, listeners: Iterable[Listener] = ()
) -> WarmRun:
    """Run a warmer in this process; the run is recorded whatever happens."""
    run = create_run(name, trigger=trigger, user=user)
    return execute(run, listeners=listeners)


def execute(run: WarmRun, *, listeners: Iterable[Listener] = ()) -> WarmRun:
    """Run ``run.warmer`` and record start, progress, end, keys written, and any error.

    A failing warmer is recorded as failed (with its error), never raised from here.
    """
    run.status = WarmRun.RUNNING
    run.started_at = run.heartbeat_at = timezone.now()
    run.error = ""
    run.save(update_fields=["status", "started_at", "heartbeat_at", "error"])

    def to_row(current: int, total: int) -> None:
        WarmRun.objects.filter(pk=run.pk).update(
            current=current, total=total, heartbeat_at=timezone.now()
        )

    progress = Progress([to_row, *listeners])
    try:
        warmer = get_warmer(run.warmer)
        progress.flush()
        with counters.lookups_not_counted():  # its misses are not the site's
            output = warmer.func(progress)
        count = keys_written(output, progress)
    except KeyboardInterrupt:
        _finish(run, progress, WarmRun.FAILED, "interrupted (Ctrl-C)")
        raise
    except UnknownWarmer as exc:
        return _finish(run, progress, WarmRun.FAILED, str(exc))
    except Exception as exc:
        logger.exception("warmer %r failed", run.warmer)
        return _finish(run, progress, WarmRun.FAILED, f"{type(exc).__name__}: {exc}")
    return _finish(run, progress, WarmRun.SUCCEEDED, "", count)


def _finish(
    run: WarmRun, progress: Progress, status: str, error: str, count: int | None = None
) -> WarmRun:
    progress.flush()
    run.status = status
    run.error = error[:ERROR_MAX]
    run.keys_written = progress.keys_written if count is None else count
    run.current, run.total = progress.current, progress.total
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at", "keys_written", "error", "current", "total"])
    logger.info(
        "warmer %s %s: %d keys in %.2fs",
        run.warmer,
        run.status,
        run.keys_written,
        run.duration or 0.0,
    )
    prune_quietly(run.warmer)
    return run


def keys_written(output: WarmOutput, progress: Progress) -> int:
    if output is None:
        return progress.keys_written
    if isinstance(output, bool):
        raise TypeError("a warm function returns a key count or the keys it wrote, not a bool")
    if isinstance(output, int):
        return max(0, output)
    if isinstance(output, (str, bytes)):
        return 1
    if isinstance(output, Sized):
        return len(output)
    return sum(1 for _ in output)
