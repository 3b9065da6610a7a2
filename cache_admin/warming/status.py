"""What the warm page and ``warm_cache --list`` show: each warmer with its latest run.

Everything is read from the WarmRun table, the store every process writes progress to,
so any number of staff watch the same job.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cache_admin import wording
from cache_admin.conf import conf
from cache_admin.models import WarmRun
from cache_admin.warming.health import broker_problem, celery_app, worker_problem, worker_slots
from cache_admin.warming.registry import Warmer, all_warmers

ACTIVE = (WarmRun.QUEUED, WarmRun.RUNNING)
LOST_STATES = frozenset({"FAILURE", "REVOKED"})


@dataclass(frozen=True)
class Wait:
    """Why a queued run has not started once it waited WARM_PICKUP_TIMEOUT: normal queueing
    behind runs that fill every worker slot, or a problem (no broker, no worker, or slots
    that stay free)."""

    text: str
    problem: bool


@dataclass(frozen=True)
class WarmerRow:
    warmer: Warmer
    run: WarmRun | None
    waiting: Wait | None = None

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
    active: list[WarmRun] = []
    if any(run.status == WarmRun.QUEUED for run in runs.values()):
        active = list(WarmRun.objects.filter(status__in=ACTIVE))
    return [WarmerRow(w, runs.get(w.name), wait_reason(runs.get(w.name), active)) for w in warmers]


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


def wait_reason(run: WarmRun | None, active: list[WarmRun]) -> Wait | None:
    """For a run queued longer than WARM_PICKUP_TIMEOUT, given every active run: queueing is
    a problem only when the warm runs already running do not fill the workers' slots (their
    pools' concurrency), since then nothing the package knows of explains the wait."""
    if run is None or run.status != WarmRun.QUEUED:
        return None
    waited = (timezone.now() - run.queued_at).total_seconds()
    if waited < conf.WARM_PICKUP_TIMEOUT:
        return None
    problem = broker_problem()
    if problem:
        return Wait(problem, True)
    running = sum(1 for r in active if r.status == WarmRun.RUNNING)
    ahead = running + sum(
        1
        for r in active
        if r.status == WarmRun.QUEUED and (r.queued_at, r.pk) < (run.queued_at, run.pk)
    )
    slots = worker_slots()
    if slots is None:
        if running:  # a solo pool answers nothing while it runs a task, but it is there
            return Wait(
                ngettext(
                    "Waiting for the worker: %(ahead)d run is ahead of this one.",
                    "Waiting for the worker: %(ahead)d runs are ahead of this one.",
                    ahead,
                )
                % {"ahead": ahead},
                False,
            )
        return Wait(worker_problem() or _("No Celery worker answered."), True)
    if running >= slots:
        return Wait(
            ngettext(
                "Waiting for a worker: %(ahead)d run is ahead of this one and the workers "
                "run %(slots)d at a time.",
                "Waiting for a worker: %(ahead)d runs are ahead of this one and the workers "
                "run %(slots)d at a time.",
                ahead,
            )
            % {"ahead": ahead, "slots": slots},
            False,
        )
    return Wait(
        _(
            "Queued for %(waited)s although the workers run %(running)d warm jobs of the "
            "%(slots)d they can run at once: they are busy with other tasks, or do not "
            "consume the queue warm jobs are sent to."
        )
        % {"waited": wording.seconds(int(waited)), "running": running, "slots": slots},
        True,
    )


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
