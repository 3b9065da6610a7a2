"""Send warm jobs to Celery: one WarmRun row (queued, with its task id) per warmer, then
one task per warmer, several as a group."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from cache_admin.models import WarmRun
from cache_admin.warming.health import broker_problem, celery_app
from cache_admin.warming.registry import get_warmer
from cache_admin.warming.runner import create_run


class CeleryUnavailable(RuntimeError):
    pass


def enqueue(
    names: Iterable[str], *, trigger: str, user: Any = None, check: bool = True
) -> list[WarmRun]:
    """Queue the named warmers; raises UnknownWarmer, or CeleryUnavailable (nothing queued)."""
    from celery import group, uuid

    from cache_admin.warming.tasks import warm

    wanted = list(dict.fromkeys(get_warmer(name).name for name in names))
    if not wanted:
        return []
    app = celery_app()
    problem = broker_problem(app, memo=False) if check else None
    if app is None and problem is None:
        problem = broker_problem(None)
    if problem:
        raise CeleryUnavailable(problem)
    runs = [create_run(name, trigger=trigger, user=user, task_id=uuid()) for name in wanted]
    signatures = [
        warm.si(run.warmer, run_id=run.pk, trigger=trigger).set(task_id=run.task_id) for run in runs
    ]
    job = group(signatures) if len(signatures) > 1 else signatures[0]
    try:
        # No publish retries: a broker that went away fails now, not after a long backoff.
        job.apply_async(retry=False)
    except Exception as exc:
        message = f"warm job not queued, the Celery broker failed: {exc}"
        WarmRun.objects.filter(pk__in=[r.pk for r in runs]).update(
            status=WarmRun.FAILED, error=message, finished_at=timezone.now()
        )
        raise CeleryUnavailable(message) from exc
    return runs
