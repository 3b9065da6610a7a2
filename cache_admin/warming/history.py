"""Bounded warm-run history: each warmer keeps its newest finished runs, older ones are summed.

Every finished run adds a ``WarmRun`` row; without a bound the table grows for ever (an
hourly beat warm is 8,760 rows a year per warmer) and so does each metrics scrape. After
a run ends, the finished runs of its warmer beyond the newest ``WARM_RUN_HISTORY`` are
added to ``WarmRunTotal`` (runs, durations, keys written, last finish, per outcome) and
deleted in the same transaction, so the Prometheus counters built from both never go down.
Queued and running runs are never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F

from cache_admin.conf import conf
from cache_admin.models import WarmRun, WarmRunTotal

logger = logging.getLogger("cache_admin.warming")

FINISHED = (WarmRun.SUCCEEDED, WarmRun.FAILED)
BATCH = 500


@dataclass
class _Sum:
    runs: int = 0
    timed_runs: int = 0
    seconds: float = 0.0
    keys_written: int = 0
    last_finished_at: datetime | None = None


class _Raced(Exception):
    """Another process pruned some of the same rows first: roll back, it counted them."""


def prune(warmer: str, keep: int | None = None) -> int:
    """Fold the finished runs of ``warmer`` beyond the newest ``keep``; answer how many."""
    keep = max(1, int(conf.WARM_RUN_HISTORY if keep is None else keep))
    finished = WarmRun.objects.filter(warmer=warmer, status__in=FINISHED).order_by("-id")
    pruned = 0
    while ids := list(finished.values_list("id", flat=True)[keep : keep + BATCH]):
        try:
            pruned += _fold(ids)
        except _Raced:
            break
    return pruned


def prune_quietly(warmer: str) -> None:
    """``prune`` for the end of a run: a failure is logged, never the run's failure."""
    try:
        count = prune(warmer)
    except Exception:
        logger.exception("pruning the run history of warmer %r failed", warmer)
        return
    if count:
        logger.info("warmer %s: %d old runs folded into the totals", warmer, count)


def _fold(ids: list[int]) -> int:
    with transaction.atomic():
        rows = list(
            WarmRun.objects.select_for_update()
            .filter(pk__in=ids, status__in=FINISHED)
            .values_list("pk", "warmer", "status", "started_at", "finished_at", "keys_written")
        )
        if not rows:
            raise _Raced
        _, deleted = WarmRun.objects.filter(pk__in=[row[0] for row in rows]).delete()
        if deleted.get(WarmRun._meta.label, 0) != len(rows):
            raise _Raced
        sums: dict[tuple[str, str], _Sum] = {}
        for _pk, warmer, status, started, finished, keys in rows:
            one = sums.setdefault((warmer, status), _Sum())
            one.runs += 1
            one.keys_written += keys
            if started and finished:
                one.timed_runs += 1
                one.seconds += (finished - started).total_seconds()
            if finished and (one.last_finished_at is None or finished > one.last_finished_at):
                one.last_finished_at = finished
        for (warmer, status), one in sums.items():
            _add(warmer, status, one)
    return len(rows)


def _add(warmer: str, status: str, one: _Sum) -> None:
    total, _ = WarmRunTotal.objects.select_for_update().get_or_create(warmer=warmer, status=status)
    last = total.last_finished_at
    if one.last_finished_at and (last is None or one.last_finished_at > last):
        last = one.last_finished_at
    WarmRunTotal.objects.filter(pk=total.pk).update(
        runs=F("runs") + one.runs,
        timed_runs=F("timed_runs") + one.timed_runs,
        seconds=F("seconds") + one.seconds,
        keys_written=F("keys_written") + one.keys_written,
        last_finished_at=last,
    )
