"""What the warm page and ``warm_cache --list`` show: each warmer with its latest run.

Everything is read from the WarmRun table, the store every process writes progress to,
so any number of staff watch the same job.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cache_admin.conf import conf
from cache_admin.models import WarmRun
from cache_admin.warming.health import broker_problem, celery_app, worker_problem
from cache_admin.warming.registry import Warmer, all_warmers

ACTIVE = (WarmRun.QUEUED, WarmRun.RUNNING)
LOST_STATES = frozenset({"FAILURE", "REVOKED"})


@dataclass(frozen=True)
class WarmerRow:
    warmer: Warmer
    run: WarmRun | None
    # Set when a queued run has waited longer than WARM_PICKUP_TIMEOUT (R3).
    stalled: str = ""

    @property
    def active(self) -> bool:
        return self.run is not None and self.run.status in ACTIVE

    @property
    def percent(self) -> int | None:
        run = self.run
        if run is None:
            return None
        if run.status == WarmRun.SUCCEEDED:
            return 100
        if run.total <= 0:
            return None
        return min(100, 100 * run.current // run.total)


def latest_runs(names: list[str]) -> dict[str, WarmRun]:
    latest = (
        WarmRun.objects.filter(warmer__in=names)
        .values("warmer")
        .annotate(last=Max("pk"))
        .values_list("last", flat=True)
    )
    return {run.warmer: run for run in WarmRun.objects.filter(pk__in=list(latest))}


def warmer_rows() -> list[WarmerRow]:
    warmers = all_warmers()
    runs = {name: reconcile(run) for name, run in latest_runs([w.name for w in warmers]).items()}
    return [WarmerRow(w, runs.get(w.name), stall_notice(runs.get(w.name))) for w in warmers]


def reconcile(run: WarmRun) -> WarmRun:
    """Close an active run whose Celery task already ended without recording it.

    A worker killed mid-task (out of memory, SIGKILL) never finishes its run row; Celery
    marks the task FAILURE (WorkerLostError) or REVOKED, and the row follows, instead of
    a bar that never moves.
    """
    if run.status == WarmRun.RUNNING and _silent_for(run) >= conf.WARM_STALE_AFTER:
        error = _(
            "No progress for %(minutes)d minutes: the worker running it was probably lost."
        ) % {"minutes": _silent_for(run) // 60}
        return _close_lost(run, error)
    if run.status not in ACTIVE or not run.task_id:
        return run
    app = celery_app()
    if app is None:
        return run
    try:
        state = app.AsyncResult(run.task_id).state
    except Exception:  # a result backend that is down or missing: nothing to learn
        return run
    if state not in LOST_STATES:
        return run
    error = _("The Celery task ended (%(state)s) before the run was recorded: worker lost?") % {
        "state": state
    }
    return _close_lost(run, error)


def _silent_for(run: WarmRun) -> float:
    last = run.heartbeat_at or run.started_at or run.queued_at
    return (timezone.now() - last).total_seconds()


def _close_lost(run: WarmRun, error: str) -> WarmRun:
    WarmRun.objects.filter(pk=run.pk, status__in=ACTIVE).update(
        status=WarmRun.FAILED, error=error, finished_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def any_active(rows: list[WarmerRow]) -> bool:
    return any(row.active for row in rows)


def stall_notice(run: WarmRun | None) -> str:
    """Why a run still waits for a worker, once it has waited longer than it should."""
    if run is None or run.status != WarmRun.QUEUED:
        return ""
    waited = (timezone.now() - run.queued_at).total_seconds()
    if waited < conf.WARM_PICKUP_TIMEOUT:
        return ""
    problem = broker_problem() or worker_problem()
    if problem and not workers_busy():
        return problem
    return _("Queued for %(seconds)d s: the workers are busy with other tasks.") % {
        "seconds": waited
    }


def workers_busy(runs: list[WarmRun] | None = None) -> bool:
    """Whether a worker exists though none answered a ping: a solo (or fully busy) worker
    does not answer while it runs a task, but its run shows it is there."""
    if WarmRun.objects.filter(status=WarmRun.RUNNING).exists():
        return True
    if runs:
        started = WarmRun.objects.filter(pk__in=[r.pk for r in runs]).exclude(status=WarmRun.QUEUED)
        return started.exists()
    return False


def worker_notice(runs: list[WarmRun]) -> str | None:
    """After queueing ``runs``: why they may never start, or None."""
    problem = worker_problem()
    if problem is None or workers_busy(runs):
        return None
    return problem
