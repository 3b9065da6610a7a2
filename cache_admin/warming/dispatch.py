"""Send warm jobs to Celery: one WarmRun row (queued, with its task id) per warmer, then
one task per warmer, several as a group.

Tasks are sent by name, as any producer does: this module does not import the task
module (``tasks`` imports this one, for ``warm_all``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from cache_admin.models import WarmRun
from cache_admin.warming.health import broker_problem, celery_app
from cache_admin.warming.registry import get_warmer
from cache_admin.warming.runner import create_run
from cache_admin.warming.task_names import WARM_TASK


class CeleryUnavailable(RuntimeError):
    pass


def enqueue(
    names: Iterable[str], *, trigger: str, user: Any = None, check: bool = True
) -> list[WarmRun]:
    """Queue the named warmers; raises UnknownWarmer, or CeleryUnavailable (nothing queued)."""
    from celery import group, uuid

    wanted = list(dict.fromkeys(get_warmer(name).name for name in names))
    if not wanted:
        return []
    app = celery_app()
    # Without an app there is always a problem to name, checked or not.
    problem = broker_problem(app, memo=False) if check or app is None else None
    if problem or app is None:
        raise CeleryUnavailable(problem or "")
    runs = [create_run(name, trigger=trigger, user=user, task_id=uuid()) for name in wanted]
    signatures = [
        app.signature(
            WARM_TASK,
            args=(run.warmer,),
            kwargs={"run_id": run.pk, "trigger": trigger},
            immutable=True,
        ).set(task_id=run.task_id)
        for run in runs
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
