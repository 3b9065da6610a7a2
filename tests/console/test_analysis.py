"""The Analysis page: per visitor and permission (S1), start and cancel as POST/redirect/GET
with audit entries, progress any staff member can follow, the report (charts' data, key
names only with the browse permission), bad input, unknown reports, Redis down."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from cache_admin import analysis, audit
from cache_admin.models import AuditEntry, KeyspaceReport
from tests.console.conftest import VISITORS, grant

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/admin/cache/analysis/"
START = "/admin/cache/analysis/start/"
FORM = {"budget": "", "delimiter": ":", "depth": "2"}


def url(name: str, job_id: str) -> str:
    return reverse(f"admin:cache_admin_analysis_{name}", args=[job_id])


def finished(job_id: str) -> KeyspaceReport:
    assert analysis.join(job_id, 60)
    return KeyspaceReport.objects.get(job_id=job_id)


@pytest.fixture
def keys() -> None:
    for i in range(40):
        cache.set(f"product:{i}", {"name": f"Laptop {i}"}, timeout=600)
    cache.set("product:list:abc", list(range(100)), timeout=None)
    cache.set("cart:user:<b>7</b>", "x" * 5000, timeout=600)


def test_url_names() -> None:
    assert reverse("admin:cache_admin_analysis") == PAGE
    assert reverse("admin:cache_admin_analysis_start") == START
    assert url("report", "a" * 32) == f"{PAGE}{'a' * 32}/"


@pytest.mark.parametrize("kind", VISITORS)
@pytest.mark.parametrize("permission", [audit.VIEW_DASHBOARD, audit.ANALYZE])
def test_page_per_visitor(
    visitor: Callable[[str, str], Client], kind: str, permission: str
) -> None:
    response = visitor(kind, permission).get(PAGE)
    expected = {"anonymous": 302, "staff_without": 403, "staff_with": 200, "superuser": 200}
    assert response.status_code == expected[kind]
    if kind == "anonymous":
        assert response["Location"].startswith(reverse("admin:login"))
    if response.status_code == 200:
        assert b"No analysis has been run yet." in response.content
        may_start = kind == "superuser" or permission == audit.ANALYZE
        assert (b'id="cache-admin-analysis-form"' in response.content) is may_start


@pytest.mark.parametrize("kind", [*VISITORS, "staff_viewer"])
def test_start_per_visitor(visitor: Callable[[str, str], Client], kind: str, keys: None) -> None:
    # A staff member who may only look (the view permission) cannot start one.
    permission = audit.VIEW_DASHBOARD if kind == "staff_viewer" else audit.ANALYZE
    client = visitor("staff_with" if kind == "staff_viewer" else kind, permission)
    response = client.post(START, FORM)
    if kind == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    elif kind in ("staff_without", "staff_viewer"):
        assert response.status_code == 403
    else:
        assert response.status_code == 302
        job_id = response["Location"].rstrip("/").rsplit("/", 1)[1]
        assert finished(job_id).status == KeyspaceReport.DONE
        return
    assert not KeyspaceReport.objects.exists() and not AuditEntry.objects.exists()


def test_start_refuses_get_and_a_post_without_csrf(superuser: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    assert client.get(START).status_code == 405
    assert client.post(START, FORM).status_code == 403
    job_id = "c" * 32
    assert client.post(url("cancel", job_id)).status_code == 403
    assert not KeyspaceReport.objects.exists()


def test_start_redirects_and_the_report_follows(admin_client: Client, keys: None) -> None:
    response = admin_client.post(START, FORM)
    assert response.status_code == 302
    job_id = response["Location"].rstrip("/").rsplit("/", 1)[1]
    assert response["Location"] == url("report", job_id)
    finished(job_id)
    page = admin_client.get(response["Location"])
    body = page.content.decode()
    assert "The analysis started; this page follows its progress." in body
    # Reloading shows the report again: nothing is started twice, the message is gone.
    again = admin_client.get(response["Location"]).content.decode()
    assert "The analysis started" not in again
    assert KeyspaceReport.objects.count() == 1
    assert AuditEntry.objects.filter(action="analyze_keyspace").count() == 1
    for part in (
        'id="cache-admin-analysis-summary"',
        'data-type="product_detail" data-keys="40"',
        'data-namespace="product:list:"',
        'data-kind="no_ttl" data-type="product_list"',
        "every key (",
    ):
        assert part in again, part
    # The charts' data, for console.js.
    script = again.split('id="cache-admin-chart-ttl" type="application/json">')[1]
    chart = json.loads(script.split("</script>")[0])
    assert chart["stacked"] and len(chart["datasets"]) == 6
    assert "Product detail" in chart["labels"]
    # The main page shows the newest report too.
    assert 'data-type="product_detail" data-keys="40"' in admin_client.get(PAGE).content.decode()


def test_key_names_need_the_browse_permission(staff: User, keys: None) -> None:
    job_id = analysis.start()
    finished(job_id)
    viewer = Client()
    viewer.force_login(grant(staff, audit.VIEW_DASHBOARD))
    body = viewer.get(url("report", job_id)).content.decode()
    assert (
        "cart:user:" not in body.split('id="cache-admin-analysis-biggest"')[1].split("</table>")[0]
    )
    assert "Key names are shown to staff who may browse keys." in body
    assert 'href="/admin/cache/keys/k/' not in body
    browser = Client()
    browser.force_login(grant(staff, audit.VIEW_DASHBOARD, audit.BROWSE_KEYS))
    body = browser.get(url("report", job_id)).content.decode()
    biggest = body.split('id="cache-admin-analysis-biggest"')[1].split("</table>")[0]
    assert "cart:user:&lt;b&gt;7&lt;/b&gt;" in biggest and "<b>7</b>" not in body
    assert 'href="/admin/cache/keys/k/' in biggest


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({**FORM, "budget": "0"}, "Sample size: Ensure this value is greater than or equal to 1."),
        ({**FORM, "budget": "10000001"}, "Sample size: Ensure this value is less than or equal to"),
        ({**FORM, "budget": "many"}, "Sample size: Enter a whole number."),
        ({**FORM, "depth": "9"}, "Namespace depth: Ensure this value is less than or equal to 5."),
        ({**FORM, "delimiter": "x" * 11}, "Delimiter: Ensure this value has at most 10 characters"),
        ({"budget": ""}, "Delimiter: This field is required."),
        ({**FORM, "budget": "-1"}, "Sample size: Ensure this value is greater than or equal to 1."),
        ({**FORM, "budget": "9" * 5000}, "Sample size: Enter a whole number."),
        ({**FORM, "depth": "1.5"}, "Namespace depth: Enter a whole number."),
        ({**FORM, "depth": ""}, "Namespace depth: This field is required."),
        ({**FORM, "delimiter": "\x00"}, "Delimiter: Null characters are not allowed."),
    ],
)
def test_bad_input_is_shown_and_starts_nothing(
    admin_client: Client, data: dict[str, str], error: str
) -> None:
    response = admin_client.post(START, data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not KeyspaceReport.objects.exists()


def test_a_second_start_while_one_runs_says_so(
    admin_client: Client, keys: None, held_analysis: tuple[threading.Event, threading.Event]
) -> None:
    reached, release = held_analysis
    first = admin_client.post(START, FORM)["Location"].rstrip("/").rsplit("/", 1)[1]
    assert reached.wait(30)
    response = admin_client.post(START, FORM, follow=True)
    assert "An analysis is already running" in response.content.decode()
    assert KeyspaceReport.objects.count() == 1
    release.set()
    finished(first)


def test_progress_is_shown_to_every_viewer_and_cancel_works(
    admin_client: Client,
    staff: User,
    keys: None,
    settings: Any,
    held_analysis: tuple[threading.Event, threading.Event],
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 10}
    reached, release = held_analysis
    job_id = admin_client.post(START, FORM)["Location"].rstrip("/").rsplit("/", 1)[1]
    assert reached.wait(30)
    viewer = Client()
    viewer.force_login(grant(staff, audit.VIEW_DASHBOARD))
    for page in (PAGE, url("report", job_id)):
        body = viewer.get(page).content.decode()
        assert "Analysis in progress" in body and "Node 1 of 1" in body
        assert 'id="cache-admin-analysis-cancel"' not in body  # viewers cannot cancel
    fragment = viewer.get(url("status", job_id), HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and "Node 1 of 1" in fragment.content.decode()
    assert viewer.post(url("cancel", job_id)).status_code == 403
    body = admin_client.get(url("report", job_id)).content.decode()
    assert 'id="cache-admin-analysis-cancel"' in body
    response = admin_client.post(url("cancel", job_id), follow=True)
    assert "Cancelling: the analysis stops after its current batch." in response.content.decode()
    release.set()
    report = finished(job_id)
    assert report.status == KeyspaceReport.CANCELLED
    assert AuditEntry.objects.filter(action="analyze_keyspace_cancel").count() == 1
    # The watchers' next poll sends their tab to the report.
    done = viewer.get(url("status", job_id), HTTP_HX_REQUEST="true")
    assert done["HX-Redirect"] == url("report", job_id)
    body = viewer.get(url("report", job_id)).content.decode()
    assert 'id="cache-admin-analysis-cancelled"' in body
    again = admin_client.post(url("cancel", job_id), follow=True)
    assert "This analysis is not running any more." in again.content.decode()


@pytest.mark.parametrize(
    "job_id", ["0" * 32, "not-a-job", "A" * 32, "<img src=x onerror=alert(1)>", "f" * 5000, "\x00"]
)
def test_an_unknown_report_is_a_clear_404(admin_client: Client, job_id: str) -> None:
    for name in ("report", "cancel"):
        call = admin_client.get if name == "report" else admin_client.post
        response = call(url(name, job_id))
        assert response.status_code == 404
        assert "This analysis is unknown" in response.content.decode()
        assert "<img src=x" not in response.content.decode()
    redirect = admin_client.get(url("status", job_id), HTTP_HX_REQUEST="true")
    assert redirect["HX-Redirect"] == url("report", job_id)


def test_redis_down_keeps_the_page_and_the_history(
    admin_client: Client, request: pytest.FixtureRequest
) -> None:
    job_id = analysis.start()
    finished(job_id)
    request.getfixturevalue("redis_down")
    page = admin_client.get(PAGE)
    assert page.status_code == 200
    assert f'data-job="{job_id}"' in page.content.decode()  # the report, from the database
    response = admin_client.post(START, FORM, follow=True)
    body = response.content.decode()
    assert response.status_code == 200 and "Traceback" not in body
    assert "The analysis was not started: Redis" in body
    assert KeyspaceReport.objects.count() == 1
    # A report still marked running shows that its progress cannot be read.
    KeyspaceReport.objects.create(job_id="d" * 32)
    body = admin_client.get(url("report", "d" * 32)).content.decode()
    assert "Its progress cannot be read:" in body


def test_a_failed_report_says_why(admin_client: Client) -> None:
    report = KeyspaceReport.objects.create(
        job_id="e" * 32,
        status=KeyspaceReport.FAILED,
        error="Redis for cache 'default' is unreachable",
    )
    body = admin_client.get(url("report", report.job_id)).content.decode()
    assert 'id="cache-admin-analysis-failed"' in body
    assert "is unreachable" in body


def test_the_history_lists_the_reports(admin_client: Client) -> None:
    ids = [finished(analysis.start()).job_id for _ in range(2)]
    body = admin_client.get(PAGE).content.decode()
    history = body.split('id="cache-admin-analysis-history"')[1]
    assert all(f'data-job="{job_id}"' in history for job_id in ids)
    shown = admin_client.get(url("report", ids[0])).content.decode()
    assert f'data-job="{ids[0]}" data-status="done" aria-current="true"' in shown
