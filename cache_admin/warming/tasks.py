"""Celery tasks: one task run per warmer; "warm all" fans out as a group.

A run reports ``PROGRESS`` with ``{"current", "total"}`` from its first moment, so its
state is never ``PENDING`` while a worker has it.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from cache_admin.models import WarmRun
from cache_admin.warming.dispatch import enqueue
from cache_admin.warming.registry import all_warmers
from cache_admin.warming.runner import create_run, execute
from cache_admin.warming.task_names import WARM_ALL_TASK, WARM_TASK

PROGRESS = "PROGRESS"


class WarmFailed(Exception):
    pass


def claim(run_id: int | None, name: str, task_id: str, trigger: str) -> WarmRun:
    """The run row the dispatcher created, or a new one (Celery beat, a direct ``delay``)."""
    run = WarmRun.objects.filter(pk=run_id).first() if run_id is not None else None
    if run is None:
        return create_run(name, trigger=trigger, task_id=task_id)
    if task_id and run.task_id != task_id:
        run.task_id = task_id
        run.save(update_fields=["task_id"])
    return run


@shared_task(bind=True, name=WARM_TASK)
def warm(
    self: Any, name: str, run_id: int | None = None, trigger: str = "celery"
) -> dict[str, Any]:
    task_id = self.request.id or ""

    def report(current: int, total: int) -> None:
        if task_id:
            meta = {"current": current, "total": total, "warmer": name}
            self.update_state(state=PROGRESS, meta=meta)

    report(0, 0)
    run = execute(claim(run_id, name, task_id, trigger), listeners=[report])
    if run.status == WarmRun.FAILED:
        raise WarmFailed(f"warmer {name!r} failed: {run.error}")
    return {
        "warmer": name,
        "run_id": run.pk,
        "keys_written": run.keys_written,
        "duration": run.duration,
    }


@shared_task(name=WARM_ALL_TASK)
def warm_all(trigger: str = "celery beat") -> list[str]:
    """Queue one ``cache_admin.warm`` per registered warmer (the beat schedule's entry)."""
    runs = enqueue([w.name for w in all_warmers()], trigger=trigger, check=False)
    return [run.task_id for run in runs]
