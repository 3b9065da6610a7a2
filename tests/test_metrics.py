from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import path
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from cache_admin import counters
from cache_admin.metrics import metrics_view
from cache_admin.models import WarmRun

urlpatterns = [path("ops/metrics/", metrics_view)]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

URL = "/ops/metrics/"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrape(client: Client, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get(URL, headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


@pytest.fixture
def staff_client(client: Client) -> Client:
    user = User.objects.create_user("ops", password="x", is_staff=True)
    client.force_login(user)
    return client


def test_redis_figures_under_the_names_the_spec_queries(staff_client: Client) -> None:
    from cache_admin import backend

    backend.get_cache().set("product:1", "x")
    found = scrape(staff_client)
    assert found[("redis_up", ())] == 1
    assert found[("redis_memory_used_bytes", ())] > 0
    assert ("redis_memory_max_bytes", ()) in found
    assert found[("redis_db_keys", (("db", "db0"),))] >= 1
    assert found[("redis_commands_processed_total", ())] > 0
    assert ("redis_keyspace_hits_total", ()) in found
    assert ("redis_keyspace_misses_total", ()) in found


def test_per_type_counters(staff_client: Client) -> None:
    counters.record("product_detail", "hits", 9)
    counters.record("product_detail", "misses", 1)
    counters.record("category", "fills", 2)
    counters.record("category", "errors")
    counters.record("category", "invalidations", 4)
    counters.record(None, "hits", 5)
    found = scrape(staff_client)
    assert found[("cache_admin_hits_total", (("type", "product_detail"),))] == 9
    assert found[("cache_admin_misses_total", (("type", "product_detail"),))] == 1
    assert found[("cache_admin_fills_total", (("type", "category"),))] == 2
    assert found[("cache_admin_errors_total", (("type", "category"),))] == 1
    assert found[("cache_admin_invalidations_total", (("type", "category"),))] == 4
    assert found[("cache_admin_hits_total", (("type", "_untyped"),))] == 5


def test_misses_by_reason(staff_client: Client) -> None:
    counters.miss("product_list", "invalidated")
    counters.miss("product_list", "invalidated")
    counters.miss("product_list", "absent")
    counters.miss("product_list")  # a project's own count tells no reason
    found = scrape(staff_client)
    assert found[("cache_admin_misses_total", (("type", "product_list"),))] == 4

    def reason(name: str) -> float:
        labels = (("reason", name), ("type", "product_list"))
        return found[("cache_admin_miss_reasons_total", labels)]

    assert (reason("invalidated"), reason("absent"), reason("lease_wait")) == (2, 1, 0)


def test_counters_from_two_processes_add_up(staff_client: Client) -> None:
    counters.record("product_detail", "hits", 3)
    counters.flush()
    child = textwrap.dedent(
        """
        import django
        django.setup()
        from cache_admin import counters
        counters.record("product_detail", "hits", 4)
        counters.record("product_detail", "misses", 2)
        """
    )  # no explicit flush: the exit hook must flush what is pending
    subprocess.run([sys.executable, "-c", child], check=True, timeout=60)
    counters.record("product_detail", "hits", 10)  # pending in this process until the scrape
    found = scrape(staff_client)
    assert found[("cache_admin_hits_total", (("type", "product_detail"),))] == 17
    assert found[("cache_admin_misses_total", (("type", "product_detail"),))] == 2


def test_warm_runs_and_durations(staff_client: Client) -> None:
    now = timezone.now()

    def run(warmer: str, status: str, seconds: float, keys: int) -> None:
        WarmRun.objects.create(
            warmer=warmer,
            status=status,
            started_at=now - timedelta(seconds=seconds),
            finished_at=now,
            keys_written=keys,
        )

    run("products", WarmRun.SUCCEEDED, 2.0, 100)
    run("products", WarmRun.SUCCEEDED, 4.0, 120)
    run("products", WarmRun.FAILED, 1.0, 3)
    run("featured", WarmRun.SUCCEEDED, 0.5, 10)
    WarmRun.objects.create(warmer="featured", status=WarmRun.RUNNING, started_at=now)
    found = scrape(staff_client)
    p, f = (("warmer", "products"),), (("warmer", "featured"),)
    assert found[("cache_admin_warm_runs_total", (("status", "succeeded"), *p))] == 2
    assert found[("cache_admin_warm_runs_total", (("status", "failed"), *p))] == 1
    assert found[("cache_admin_warm_runs_total", (("status", "succeeded"), *f))] == 1
    assert found[("cache_admin_warm_active", (("status", "running"), *f))] == 1
    assert found[("cache_admin_warm_duration_seconds_count", p)] == 3
    assert found[("cache_admin_warm_duration_seconds_sum", p)] == pytest.approx(7.0)
    assert found[("cache_admin_warm_keys_written_total", p)] == 223
    assert found[("cache_admin_warm_last_success_timestamp_seconds", f)] == pytest.approx(
        now.timestamp()
    )


def test_redis_down_still_answers_with_redis_up_zero(staff_client: Client, settings: Any) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},
    }
    WarmRun.objects.create(warmer="products", status=WarmRun.SUCCEEDED)
    found = scrape(staff_client)
    assert found[("redis_up", ())] == 0
    assert ("redis_memory_used_bytes", ()) not in found
    assert found[("cache_admin_warm_runs_total", (("status", "succeeded"), ("warmer", "products")))]


def test_anonymous_is_refused_by_default(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 401
    assert b"staff" in response.content


def test_logged_in_non_staff_is_forbidden(client: Client) -> None:
    client.force_login(User.objects.create_user("shopper", password="x"))
    assert client.get(URL).status_code == 403


def test_bearer_token(client: Client, settings: Any) -> None:
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "METRICS_TOKEN": "s3cret",
        "METRICS_ALLOW_STAFF": False,
    }
    assert ("redis_up", ()) in scrape(client, Authorization="Bearer s3cret")
    wrong = client.get(URL, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    missing = client.get(URL)
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    basic = client.get(URL, headers={"Authorization": "Basic czNjcmV0"})
    assert basic.status_code == 401


def test_staff_is_refused_when_only_the_token_is_allowed(
    staff_client: Client, settings: Any
) -> None:
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "METRICS_TOKEN": "s3cret",
        "METRICS_ALLOW_STAFF": False,
    }
    assert staff_client.get(URL).status_code == 401


def test_token_or_staff(staff_client: Client, settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "METRICS_TOKEN": "s3cret"}
    assert staff_client.get(URL).status_code == 200
    assert Client().get(URL, headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_open_when_neither_is_configured(client: Client, settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "METRICS_ALLOW_STAFF": False}
    assert ("redis_up", ()) in scrape(client)


def test_only_get_and_head(staff_client: Client) -> None:
    assert staff_client.post(URL).status_code == 405
    assert staff_client.head(URL).status_code == 200


def test_every_metric_the_grafana_dashboard_queries_is_exported(staff_client: Client) -> None:
    import json
    import re
    from pathlib import Path

    from django.utils import timezone

    from cache_admin import backend

    backend.get_cache().set("product:1", "x")
    counters.record("product_detail", "hits")
    counters.record("product_detail", "misses")
    for signal_name in ("fills", "errors", "invalidations"):
        counters.record("product_detail", signal_name)
    now = timezone.now()
    WarmRun.objects.create(
        warmer="products", status=WarmRun.SUCCEEDED, started_at=now, finished_at=now
    )
    exported = {name for name, _ in scrape(staff_client)}
    dashboard = json.loads(
        (Path(__file__).resolve().parents[1] / "docs" / "grafana-dashboard.json").read_text()
    )
    titles = {panel["title"] for panel in dashboard["panels"]}
    assert {"Cache hit rate", "Memory used / max", "Total keys", "Commands per second"} <= titles
    assert "Hit rate per cache type" in titles
    queried = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            queried |= set(re.findall(r"\b((?:redis|cache_admin)_[a-z_]+)\b", target["expr"]))
    assert queried, "the dashboard queries nothing"
    assert queried <= exported, queried - exported
