"""Warm-run history is bounded per warmer, and what is pruned still counts in the metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import path
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from cache_admin.metrics import metrics_view
from cache_admin.models import WarmRun, WarmRunTotal
from cache_admin.warming import Progress, register_warmer, run_inline
from cache_admin.warming.history import _fold, _Raced, prune

urlpatterns = [path("ops/metrics/", metrics_view)]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def history(settings: Any, keep: int) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "WARM_RUN_HISTORY": keep}


def finished_run(warmer: str, status: str, seconds: float, keys: int, ago: float = 0) -> WarmRun:
    end = timezone.now() - timedelta(seconds=ago)
    return WarmRun.objects.create(
        warmer=warmer,
        status=status,
        started_at=end - timedelta(seconds=seconds),
        finished_at=end,
        keys_written=keys,
    )


def warm_metrics(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/ops/metrics/")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if sample.name.startswith("cache_admin_warm_")
    }


def test_each_finished_run_beyond_the_history_is_folded_into_the_totals(
    warmer_registry: dict[str, Any], settings: Any
) -> None:
    history(settings, 3)

    @register_warmer("featured", label="Featured")
    def featured(progress: Progress) -> int:
        progress.write("featured:list", [1, 2])
        return 1

    other = finished_run("products", WarmRun.SUCCEEDED, 1.0, 50, ago=3600)
    waiting = WarmRun.objects.create(warmer="featured", status=WarmRun.QUEUED)
    runs = [run_inline("featured", trigger="test") for _ in range(5)]

    kept = WarmRun.objects.filter(warmer="featured", status=WarmRun.SUCCEEDED)
    assert sorted(kept.values_list("pk", flat=True)) == [r.pk for r in runs[-3:]]
    # An unfinished run is never pruned, whatever its age; other warmers keep their history.
    assert WarmRun.objects.filter(pk__in=[waiting.pk, other.pk]).count() == 2
    total = WarmRunTotal.objects.get(warmer="featured", status=WarmRun.SUCCEEDED)
    assert (total.runs, total.timed_runs, total.keys_written) == (2, 2, 2)
    assert total.last_finished_at == runs[1].finished_at
    assert not WarmRunTotal.objects.filter(warmer="products").exists()


def test_metrics_count_the_pruned_runs(settings: Any, client: Client) -> None:
    client.force_login(User.objects.create_user("ops", password="x", is_staff=True))
    for i in range(6):
        finished_run("products", WarmRun.SUCCEEDED, 2.0 + i, 100 + i, ago=60 * (6 - i))
    finished_run("products", WarmRun.FAILED, 1.0, 3, ago=30)
    newest_success = finished_run("products", WarmRun.SUCCEEDED, 0.5, 7, ago=10)
    finished_run("products", WarmRun.FAILED, 1.5, 0, ago=0)
    before = warm_metrics(client)

    assert prune("products", keep=2) == 7
    assert WarmRun.objects.filter(warmer="products").count() == 2
    after = warm_metrics(client)

    p = (("warmer", "products"),)
    assert after[("cache_admin_warm_runs_total", (("status", "succeeded"), *p))] == 7
    assert after[("cache_admin_warm_runs_total", (("status", "failed"), *p))] == 2
    assert after[("cache_admin_warm_duration_seconds_count", p)] == 9
    assert after[("cache_admin_warm_duration_seconds_sum", p)] == pytest.approx(
        sum(2.0 + i for i in range(6)) + 1.0 + 0.5 + 1.5
    )
    assert after[("cache_admin_warm_keys_written_total", p)] == sum(range(100, 106)) + 3 + 7
    assert after[("cache_admin_warm_last_success_timestamp_seconds", p)] == pytest.approx(
        newest_success.finished_at.timestamp()
    )
    assert after.keys() == before.keys()
    for name, value in before.items():
        assert after[name] == pytest.approx(value), name

    # The newest success itself pruned: the last-success gauge comes from the totals.
    assert prune("products", keep=1) == 1
    again = warm_metrics(client)
    assert again == pytest.approx(after)


def test_pruning_twice_counts_nothing_twice() -> None:
    for i in range(4):
        finished_run("categories", WarmRun.SUCCEEDED, 1.0, 10, ago=10 - i)
    assert prune("categories", keep=1) == 3
    assert prune("categories", keep=1) == 0
    assert WarmRunTotal.objects.get(warmer="categories").runs == 3


def test_rows_another_process_already_folded_are_not_counted_again() -> None:
    rows = [finished_run("categories", WarmRun.FAILED, 1.0, 0, ago=10 - i) for i in range(3)]
    ids = [r.pk for r in rows]
    # Another pruner folded and deleted two of them between our read and our fold.
    assert _fold(ids[:2]) == 2
    with pytest.raises(_Raced):
        _fold(ids[:2])
    # A batch in which only some rows are left folds those (select_for_update sees the rest
    # gone): nothing is counted twice.
    assert _fold(ids) == 1
    assert WarmRunTotal.objects.get(warmer="categories", status=WarmRun.FAILED).runs == 3
    assert not WarmRun.objects.filter(pk__in=ids).exists()
