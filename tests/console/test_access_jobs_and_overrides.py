"""Access to the deletion-job pages and the TTL override admin (S1), beside test_access."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from cache_admin import audit, deletion_jobs
from cache_admin.models import TTLOverride
from tests.console.conftest import VISITORS

JOB_PAGES = ["cache_admin_prefix_delete_job", "cache_admin_prefix_delete_status"]


@pytest.fixture
def job_id(transactional_db: None) -> str:
    started = deletion_jobs.start("nothing-here:")
    assert deletion_jobs.join(started, timeout=30)
    return started


@pytest.mark.parametrize("kind", VISITORS)
@pytest.mark.parametrize("permission", [audit.DELETE_KEYS, audit.INVALIDATE])
@pytest.mark.parametrize("name", JOB_PAGES)
def test_job_pages_per_visitor(
    visitor: Callable[[str, str], Client], job_id: str, kind: str, permission: str, name: str
) -> None:
    response = visitor(kind, permission).get(reverse(f"admin:{name}", args=[job_id]))
    if kind == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    elif kind == "staff_without":
        assert response.status_code == 403
    else:  # 286: the finished job's status tells htmx to stop polling
        assert response.status_code in (200, 286)
        assert b"Done: 0 keys deleted." in response.content


def test_a_bad_or_unknown_job_id_is_a_clear_404(admin_client: Client) -> None:
    for job in ("0" * 32, "not-a-job"):
        response = admin_client.get(reverse("admin:cache_admin_prefix_delete_job", args=[job]))
        assert response.status_code == 404
        assert b"unknown or has expired" in response.content


@pytest.mark.parametrize("kind", VISITORS)
def test_override_changelist_per_visitor(visitor: Callable[[str, str], Client], kind: str) -> None:
    response = visitor(kind, audit.CHANGE_TTL).get(
        reverse("admin:cache_admin_ttloverride_changelist")
    )
    if kind == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    elif kind == "staff_without":
        assert response.status_code == 403
    else:
        assert response.status_code == 200


def test_override_post_without_csrf_is_refused(admin_user: object) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)  # type: ignore[arg-type]
    response = client.post(
        reverse("admin:cache_admin_ttloverride_add"), {"cache_type": "cart", "ttl": "60"}
    )
    assert response.status_code == 403
    assert not TTLOverride.objects.exists()
