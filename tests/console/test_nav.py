"""install(site): the console's URLs and its entries in the admin index's "Cache" app."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.admin import AdminSite
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.urls import reverse

from cache_admin import audit
from cache_admin.console import install, sidebar_group
from tests.console.conftest import grant


def test_url_names() -> None:
    assert reverse("admin:cache_admin_dashboard") == "/admin/cache/dashboard/"
    assert reverse("admin:cache_admin_keys") == "/admin/cache/keys/"
    assert reverse("admin:cache_admin_invalidate") == "/admin/cache/invalidate/"
    assert reverse("admin:cache_admin_warm") == "/admin/cache/warm/"
    assert reverse("admin:cache_admin_ttloverride_changelist") == (
        "/admin/cache_admin/ttloverride/"
    )


def test_superuser_sees_every_page_and_model(admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:index"))
    cache_app = next(a for a in response.context["app_list"] if a["app_label"] == "cache_admin")
    names = [str(m["name"]) for m in cache_app["models"]]
    assert names[:6] == ["Dashboard", "Server", "Keys", "Analysis", "Invalidate", "Warm"]
    assert {"TTL overrides", "Audit log", "Warm runs"} <= set(names)
    assert reverse("admin:cache_admin_dashboard").encode() in response.content


@pytest.mark.parametrize(
    ("permission", "shown"),
    [
        (audit.VIEW_DASHBOARD, ["Dashboard", "Server", "Analysis"]),
        (audit.BROWSE_KEYS, ["Keys"]),
        (audit.ANALYZE, ["Analysis"]),
        (audit.INVALIDATE, ["Invalidate"]),
        (audit.WARM, ["Warm"]),
    ],
)
def test_each_entry_needs_its_permission(
    visitor: Callable[[str, str], Client], permission: str, shown: list[str]
) -> None:
    client = visitor("staff_with", permission)
    response = client.get(reverse("admin:index"))
    cache_app = next(a for a in response.context["app_list"] if a["app_label"] == "cache_admin")
    assert [str(m["name"]) for m in cache_app["models"]] == shown
    # The app page lists them too (the app exists for this user through the console alone).
    app_page = client.get(reverse("admin:app_list", args=["cache_admin"]))
    assert app_page.status_code == 200
    assert all(name in app_page.content.decode() for name in shown)


def test_staff_without_permissions_sees_no_cache_app(
    visitor: Callable[[str, str], Client],
) -> None:
    response = visitor("staff_without", "").get(reverse("admin:index"))
    assert all(a["app_label"] != "cache_admin" for a in response.context["app_list"])


def test_model_permission_and_console_permission_share_one_app(staff: object) -> None:
    user = grant(staff, audit.VIEW_DASHBOARD, "cache_admin.view_auditentry")  # type: ignore[arg-type]
    client = Client()
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    apps = [a for a in response.context["app_list"] if a["app_label"] == "cache_admin"]
    assert len(apps) == 1
    assert [str(m["name"]) for m in apps[0]["models"]] == [
        "Dashboard",
        "Server",
        "Analysis",
        "Audit log",
    ]


def test_install_twice_adds_the_urls_once() -> None:
    site = AdminSite(name="other")
    install(site)
    install(site)
    names = [getattr(p, "name", None) for p in site.get_urls()]
    assert names.count(None) >= 1  # the included console
    console = [
        p for p in site.get_urls() if getattr(p, "pattern", None) and str(p.pattern) == "cache/"
    ]
    assert len(console) == 1


@pytest.mark.parametrize(
    ("permission", "shown"),
    [
        (audit.VIEW_DASHBOARD, ["Dashboard", "Server", "Analysis"]),
        (audit.ANALYZE, ["Analysis"]),
    ],
)
def test_the_sidebar_group_shows_each_page_behind_its_permission(
    rf: RequestFactory, staff: User, permission: str, shown: list[str]
) -> None:
    request = rf.get("/admin/")
    request.user = grant(staff, permission)
    group = sidebar_group()
    links = {str(item["title"]): str(item["link"]) for item in group["items"]}
    assert links["Server"] == reverse("admin:cache_admin_server")
    assert links["Analysis"] == reverse("admin:cache_admin_analysis")
    allowed = [str(item["title"]) for item in group["items"] if item["permission"](request)]
    assert allowed == shown
