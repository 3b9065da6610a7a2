"""The audit log and warm runs are read-only in the admin."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cache_admin import audit
from cache_admin.models import AuditEntry, WarmRun


def test_audit_log_lists_entries_read_only(admin_client: Client, superuser: object) -> None:
    entry = audit.record(superuser, "delete_key", "<script>x</script>", 3)
    assert entry is not None
    body = admin_client.get(reverse("admin:cache_admin_auditentry_changelist")).content.decode()
    assert "delete_key" in body
    assert "&lt;script&gt;x&lt;/script&gt;" in body
    assert admin_client.get(reverse("admin:cache_admin_auditentry_add")).status_code == 403
    change = admin_client.post(
        reverse("admin:cache_admin_auditentry_change", args=[entry.pk]), {"action": "edited"}
    )
    assert change.status_code == 403
    assert AuditEntry.objects.get().action == "delete_key"
    delete = admin_client.post(
        reverse("admin:cache_admin_auditentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403


def test_warm_runs_are_read_only(admin_client: Client) -> None:
    run = WarmRun.objects.create(warmer="products", status=WarmRun.SUCCEEDED, keys_written=12)
    body = admin_client.get(reverse("admin:cache_admin_warmrun_changelist")).content.decode()
    assert "products" in body
    assert admin_client.get(reverse("admin:cache_admin_warmrun_add")).status_code == 403
    view = admin_client.get(reverse("admin:cache_admin_warmrun_change", args=[run.pk]))
    assert view.status_code == 200
    assert b'name="_save"' not in view.content


@pytest.mark.parametrize("name", ["auditentry", "warmrun", "ttloverride"])
def test_staff_without_model_permission_gets_403(staff: object, name: str) -> None:
    client = Client()
    client.force_login(staff)  # type: ignore[arg-type]
    response = client.get(reverse(f"admin:cache_admin_{name}_changelist"))
    assert response.status_code == 403
