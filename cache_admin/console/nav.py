"""The console's entries in the admin index's "Cache" app, each shown only with its permission."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from cache_admin import audit

# (URL name, label, permission); the order is the order on the index page.
PAGES = [
    ("cache_admin_dashboard", _("Dashboard"), audit.VIEW_DASHBOARD),
    ("cache_admin_keys", _("Keys"), audit.BROWSE_KEYS),
    ("cache_admin_invalidate", _("Invalidate"), audit.INVALIDATE),
    ("cache_admin_warm", _("Warm"), audit.WARM),
]


def console_entries(site: AdminSite, request: HttpRequest) -> list[dict[str, Any]]:
    entries = []
    for url_name, label, permission in PAGES:
        if not request.user.has_perm(permission):
            continue
        try:
            url = reverse(f"{site.name}:{url_name}", current_app=site.name)
        except NoReverseMatch:
            continue
        entries.append(
            {
                "name": label,
                "object_name": url_name,
                "perms": {"view": True},
                "admin_url": url,
                "add_url": None,
                "view_only": True,
                "cache_admin_page": True,
            }
        )
    return entries


def add_console_entries(
    site: AdminSite, request: HttpRequest, app_list: list[dict[str, Any]]
) -> None:
    entries = console_entries(site, request)
    if not entries:
        return
    for app in app_list:
        if app.get("app_label") == "cache_admin":
            # Console pages first, then the models (TTL overrides, audit log, warm runs).
            app["models"] = entries + [m for m in app["models"] if not m.get("cache_admin_page")]
            return
    try:
        app_url = reverse(
            f"{site.name}:app_list", kwargs={"app_label": "cache_admin"}, current_app=site.name
        )
    except NoReverseMatch:
        app_url = entries[0]["admin_url"]
    app_list.append(
        {
            "name": apps.get_app_config("cache_admin").verbose_name,
            "app_label": "cache_admin",
            "app_url": app_url,
            "has_module_perms": True,
            "models": entries,
        }
    )
    app_list.sort(key=lambda app: str(app["name"]).lower())
