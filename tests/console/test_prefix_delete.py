from __future__ import annotations

import json

import pytest
from django.core.cache import cache, caches
from django.test import Client
from django.urls import reverse

from cache_admin import deletion_jobs
from cache_admin.models import AuditEntry

URL = "admin:cache_admin_prefix_delete"


def test_dry_run_counts_and_deletes_nothing(admin_client: Client) -> None:
    for i in range(5):
        cache.set(f"product:{i}", i)
    cache.set("category:1", 1)
    response = admin_client.get(reverse(URL), {"prefix": "product:"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "5 keys of this site start with “product:”" in body
    assert "Yes, delete 5 keys" in body
    assert cache.get("product:0") == 0
    assert not AuditEntry.objects.exists()


def test_dry_run_on_a_large_keyspace_stays_bounded_and_says_it_estimates(
    admin_client: Client, settings: object
) -> None:
    settings.CACHE_ADMIN = {  # type: ignore[attr-defined]
        **settings.CACHE_ADMIN,  # type: ignore[attr-defined]
        "CONSOLE_SCAN_BUDGET": 200,
        "SCAN_COUNT": 100,
    }
    cache.set_many({f"product:{i}": i for i in range(100)})
    cache.set_many({f"category:{i}": i for i in range(2000)})
    body = admin_client.get(reverse(URL), {"prefix": "product:"}).content.decode()
    assert "About " in body and "an estimate from the" in body
    assert "Yes, delete them all" in body
    assert cache.get("product:0") == 0


def test_confirmed_deletion_runs_as_a_job_and_is_audited(
    transactional_db: None, admin_client: Client, superuser: object
) -> None:
    # transactional_db: the job's thread writes the audit entry on its own connection.
    for i in range(50):
        cache.set(f"product:{i}", i)
    cache.set("category:1", 1)
    caches["neighbour"].set("product:1", "theirs")
    response = admin_client.post(reverse(URL), {"prefix": "product:"})
    assert response.status_code == 302
    job_id = response["Location"].rstrip("/").split("/")[-1]
    assert deletion_jobs.join(job_id, timeout=30)
    status = admin_client.get(reverse("admin:cache_admin_prefix_delete_status", args=[job_id]))
    assert status.status_code == 286  # htmx: stop polling
    assert "Done: 50 keys deleted." in status.content.decode()
    assert json.loads(status["HX-Trigger"]) == {"cacheAdminRefresh": {}}
    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    assert cache.get("product:3") is None
    assert cache.get("category:1") == 1
    assert caches["neighbour"].get("product:1") == "theirs"
    entry = AuditEntry.objects.get(action="delete_prefix")
    assert entry.keys_affected == 50
    assert entry.target == "product:"


@pytest.mark.parametrize(
    ("prefix", "message"),
    [("", "This field is required"), ("   ", "Enter a prefix"), ("p" * 1001, "at most 1000")],
)
def test_empty_and_long_prefixes_are_refused(
    admin_client: Client, prefix: str, message: str
) -> None:
    cache.set("product:1", 1)
    for method in (admin_client.get, admin_client.post):
        response = method(reverse(URL), {"prefix": prefix})
        assert response.status_code == 200
        assert message in response.content.decode()
    assert cache.get("product:1") == 1


def test_glob_characters_in_the_prefix_are_literal(admin_client: Client) -> None:
    cache.set("a*b", 1)
    cache.set("aXb", 1)
    response = admin_client.get(reverse(URL), {"prefix": "a*"})
    assert "1 key of this site starts with" in response.content.decode()


@pytest.mark.parametrize("job_id", ["nope", "0" * 32])
def test_unknown_job(admin_client: Client, job_id: str) -> None:
    response = admin_client.get(reverse("admin:cache_admin_prefix_delete_job", args=[job_id]))
    assert response.status_code == 404
    assert b"unknown or has expired" in response.content
    status = admin_client.get(reverse("admin:cache_admin_prefix_delete_status", args=[job_id]))
    assert status.status_code == 286
