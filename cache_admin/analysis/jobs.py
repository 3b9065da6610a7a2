"""Keyspace analysis as a background job: one at a time per cache, its progress and a
cancel flag in the package namespace (any process reads and sets them), its report in the
database (``KeyspaceReport``), the newest ``ANALYSIS_HISTORY`` kept.

The job runs in a thread of the process that started it (``background.run_job``), walks
every primary node in turn (``backend.primary_clients()``) within the scan budget, and
writes its progress after each batch in the same pipeline that renews its lock and reads
the cancel flag.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from django.utils import timezone

from cache_admin import audit, backend, background, counter_totals, job_state, policy
from cache_admin.analysis.namespaces import MAX_DEPTH
from cache_admin.analysis.report import build
from cache_admin.analysis.sampling import Classifier, Options, walk_node
from cache_admin.analysis.tally import NodeTally
from cache_admin.conf import MAX_BUDGET, conf
from cache_admin.guard import guarded
from cache_admin.job_state import STALE_SECONDS
from cache_admin.job_state import AlreadyRunning as AlreadyRunning
from cache_admin.keyspace import params
from cache_admin.models import KeyspaceReport

logger = logging.getLogger("cache_admin")

KIND = "analysis"
BUSY = "An analysis is already running; wait for it to finish, or cancel it first."
DEFAULT_DEPTH = 2
# Called as hook(job_id, tally) after each batch's progress write (a cancel asked for
# meanwhile is read at the next batch); tests use it to hold a job mid-walk.
batch_hooks: list[Callable[[str, NodeTally], None]] = []


@dataclass(frozen=True)
class Progress:
    job_id: str
    node: int  # index of the node being walked
    nodes: int
    examined: int  # on the current node
    sampled: int  # over all nodes so far
    keys: int  # DBSIZE of the current node
    budget: int
    updated: float
    cancel_requested: bool

    @property
    def fraction(self) -> float:
        target = max(1, min(self.budget, self.keys))
        return min(0.99, (self.node + min(1.0, self.examined / target)) / max(1, self.nodes))

    @property
    def percent(self) -> int:
        return int(self.fraction * 100)

    @property
    def stale(self) -> bool:
        return time.time() - self.updated > STALE_SECONDS


def options(budget: Any = None, delimiter: Any = ":", depth: Any = DEFAULT_DEPTH) -> Options:
    """Validated options; ValueError with a message for people."""
    if budget is None or budget == "":
        budget = conf.ANALYSIS_SCAN_BUDGET
    return Options(
        budget=params.whole_number(budget, "sample size", 1, MAX_BUDGET),
        delimiter=params.delimiter(delimiter),
        depth=params.whole_number(depth, "namespace depth", 1, MAX_DEPTH),
    )


def start(user: Any = None, chosen: Options | None = None) -> str:
    """Start an analysis; its job id. AlreadyRunning while another runs on this cache;
    RedisUnavailable when Redis cannot be reached (nothing is started then)."""
    chosen = chosen or options()
    job_id = uuid.uuid4().hex

    job_state.claim(KIND, job_id, {"budget": chosen.budget}, BUSY)
    try:
        close_lost()
        KeyspaceReport.objects.create(
            job_id=job_id,
            user=user if getattr(user, "is_authenticated", False) else None,
            options=asdict(chosen),
        )
    except BaseException:
        # Nothing started: the next start need not wait for the lock.
        job_state.release(KIND, job_id)
        raise
    audit.record(user, "analyze_keyspace", "keyspace", job=job_id, **asdict(chosen))
    background.run_job(job_id, f"cache-admin-analysis-{job_id[:8]}", lambda: _run(job_id, chosen))
    return job_id


def _heartbeat(job_id: str, node: int, nodes: int, tally: NodeTally, sampled: int) -> bool:
    """Write the progress, renew the lock; True when someone asked to cancel."""
    fields = {
        "node": node,
        "nodes": nodes,
        "examined": tally.examined,
        "sampled": sampled,
        "keys": tally.keys,
    }
    return job_state.heartbeat(KIND, job_id, fields, locked=True)


def _run(job_id: str, chosen: Options) -> None:
    from django.db import connection

    status, data, error = KeyspaceReport.FAILED, None, ""
    try:
        ttls = policy.effective_ttls()
        ceilings = {t.cache_type.name: t.effective + int(t.effective * conf.JITTER) for t in ttls}
        classifier = Classifier(chosen, ceilings)
        clients = guarded(backend.primary_clients)
        tallies: list[NodeTally] = []
        cancelled = False
        for index, client in enumerate(clients):
            before = sum(tally.sampled for tally in tallies)

            def on_batch(tally: NodeTally, index: int = index, before: int = before) -> bool:
                nonlocal cancelled
                sampled = before + tally.sampled
                cancelled = _heartbeat(job_id, index, len(clients), tally, sampled)
                for hook in list(batch_hooks):
                    hook(job_id, tally)
                return not cancelled

            tallies.append(guarded(partial(walk_node, client, classifier, on_batch)))
            if cancelled:
                break
        data = build(
            tallies, options=chosen, ttls=ttls, counts=_hour_counts(), nodes_total=len(clients)
        )
        status = KeyspaceReport.CANCELLED if cancelled else KeyspaceReport.DONE
    except Exception as exc:  # the report says why; the log keeps the trace
        logger.exception("keyspace analysis %s failed", job_id)
        error = str(exc)[:500] or type(exc).__name__
    finally:
        try:
            _finish(job_id, status, data, error)
        finally:
            connection.close()  # this thread's database connection


def _hour_counts() -> dict[str, counter_totals.Counts] | None:
    try:
        return counter_totals.type_stats(3600)
    except Exception as exc:  # the report then says hit rates were unavailable
        logger.warning("hit rates for the keyspace analysis could not be read: %r", exc)
        return None


def _finish(job_id: str, status: str, data: dict[str, Any] | None, error: str) -> None:
    figures = data or {}
    KeyspaceReport.objects.filter(job_id=job_id).update(
        status=status,
        finished_at=timezone.now(),
        data=figures,
        keys_total=figures.get("keys"),
        keys_sampled=figures.get("sampled", 0),
        exact=bool(figures.get("exact")),
        memory=figures.get("memory"),
        error=error,
    )
    prune()
    job_state.release(KIND, job_id)


def prune(keep: int | None = None) -> int:
    """Delete finished reports beyond the newest ``keep`` (ANALYSIS_HISTORY)."""
    keep = max(1, conf.ANALYSIS_HISTORY if keep is None else keep)
    finished = KeyspaceReport.objects.exclude(status=KeyspaceReport.RUNNING)
    old = list(finished.values_list("pk", flat=True)[keep:])
    if not old:
        return 0
    deleted, _ = KeyspaceReport.objects.filter(pk__in=old).delete()
    return deleted


def progress(job_id: str) -> Progress | None:
    """A job's progress from any process; None when unknown or expired."""
    data = job_state.read(KIND, job_id)
    if data is None:
        return None

    def number(name: str) -> float:
        return job_state.number(data, name)

    return Progress(
        job_id=job_id,
        node=int(number("node")),
        nodes=int(number("nodes")),
        examined=int(number("examined")),
        sampled=int(number("sampled")),
        keys=int(number("keys")),
        budget=int(number("budget")),
        updated=number("updated"),
        cancel_requested=bool(data.get(job_state.CANCEL)),
    )


def lost(report: KeyspaceReport, found: Progress | None) -> bool:
    """Running on paper, but its process ended (or lost Redis) without a word."""
    if report.status != KeyspaceReport.RUNNING:
        return False
    if found is not None:
        return found.stale
    return (timezone.now() - report.started_at).total_seconds() > STALE_SECONDS


def close_lost() -> int:
    """Mark running reports whose job was lost as failed; how many."""
    closed = 0
    for report in KeyspaceReport.objects.filter(status=KeyspaceReport.RUNNING):
        if lost(report, progress(report.job_id)):
            closed += KeyspaceReport.objects.filter(
                pk=report.pk, status=KeyspaceReport.RUNNING
            ).update(
                status=KeyspaceReport.FAILED,
                finished_at=timezone.now(),
                error="The process running this analysis ended before it finished.",
            )
    return closed


def cancel(job_id: str, user: Any = None) -> bool:
    """Ask a running analysis to stop (it keeps what it sampled); False when it is not
    running. The job reads the flag after its current batch, in whichever process runs it."""
    report = KeyspaceReport.objects.filter(job_id=job_id).first()
    if report is None or report.status != KeyspaceReport.RUNNING:
        return False
    if lost(report, progress(job_id)):
        close_lost()
    else:
        job_state.request_cancel(KIND, job_id)
    audit.record(user, "analyze_keyspace_cancel", "keyspace", job=job_id)
    return True


def join(job_id: str, timeout: float | None = None) -> bool:
    """Wait for a job started by this process; True when it has ended (tests, commands)."""
    return background.join_job(job_id, timeout)
