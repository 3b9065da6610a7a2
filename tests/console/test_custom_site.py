"""The console and the package's model admins follow the site they are installed on."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.project_support import run_in_project

MODELS = ["ttloverride", "auditentry", "warmrun"]
PAGES = ["cache_admin_dashboard", "cache_admin_keys", "cache_admin_invalidate", "cache_admin_warm"]
CONSOLE_ENTRIES = ["Dashboard", "Server", "Keys", "Analysis", "Invalidate", "Warm"]


@pytest.mark.urls("tests.console.staff_site")
def test_console_pages_and_model_admins_live_on_the_custom_site(admin_client: Client) -> None:
    for name in PAGES:
        url = reverse(f"staff:{name}")
        assert url.startswith("/staff/cache/")
        assert admin_client.get(url).status_code == 200
    for model in MODELS:
        url = reverse(f"staff:cache_admin_{model}_changelist")
        assert url.startswith("/staff/")
        assert admin_client.get(url).status_code == 200
    add = admin_client.post(
        reverse("staff:cache_admin_ttloverride_add"), {"cache_type": "cart", "ttl": "60"}
    )
    assert add.status_code == 302
    assert add["Location"].startswith("/staff/")
    index = admin_client.get(reverse("staff:index"))
    cache_app = next(a for a in index.context["app_list"] if a["app_label"] == "cache_admin")
    names = [str(m["name"]) for m in cache_app["models"]]
    assert names == [*CONSOLE_ENTRIES, "Audit log", "TTL overrides", "Warm runs"]
    assert all(m["admin_url"].startswith("/staff/") for m in cache_app["models"])


def test_a_model_admin_the_project_registered_is_kept() -> None:
    from django.contrib.admin import AdminSite, ModelAdmin

    from cache_admin.console import install
    from cache_admin.models import AuditEntry, TTLOverride

    class OwnAuditAdmin(ModelAdmin):  # type: ignore[type-arg]
        pass

    site = AdminSite(name="own")
    site.register(AuditEntry, OwnAuditAdmin)
    install(site)
    assert type(site.get_model_admin(AuditEntry)) is OwnAuditAdmin
    assert site.is_registered(TTLOverride)


def test_a_site_named_in_settings_gets_the_model_admins_and_the_default_site_none(
    tmp_path: Path,
) -> None:
    # A fresh process: the default site of this one was set up by the suite's own settings.
    project_settings = f"""
        SECRET_KEY = "tests"
        USE_TZ = True
        ROOT_URLCONF = "staff_urls"
        INSTALLED_APPS = [
            "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
            "django.contrib.sessions", "django.contrib.messages", "cache_admin",
        ]
        DATABASES = {{
            "default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
        }}
        CACHES = {{"default": {{
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "{settings.TEST_REDIS_URL}/0",
            "KEY_PREFIX": "staff_sites",
        }}}}
        CACHE_ADMIN = {{"ADMIN_SITE": "staff_sites.site"}}
        """
    # The site lives apart from the URLconf that reads its URLs (docs/console.md).
    staff_sites = """
        from django.contrib import admin

        site = admin.AdminSite(name="staff")
        """
    staff_urls = """
        from django.contrib import admin
        from django.urls import path

        from staff_sites import site

        urlpatterns = [path("admin/", admin.site.urls), path("staff/", site.urls)]
        """
    script = """
        from django.contrib import admin
        from django.urls import reverse
        from cache_admin.models import AuditEntry, TTLOverride, WarmRun
        from staff_sites import site

        models = [TTLOverride, AuditEntry, WarmRun]
        print("staff", [site.is_registered(m) for m in models])
        print("default", [admin.site.is_registered(m) for m in models])
        print("console", reverse("staff:cache_admin_dashboard"))
        default = [str(getattr(p, "pattern", "")) for p in admin.site.get_urls()]
        print("default console", "cache/" in default)
        """
    printed = run_in_project(
        tmp_path, project_settings, script, staff_sites=staff_sites, staff_urls=staff_urls
    )
    assert printed.splitlines() == [
        "staff [True, True, True]",
        "default [False, False, False]",
        "console /staff/cache/dashboard/",
        "default console False",
    ]
