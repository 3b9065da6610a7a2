"""The console's pages and the package's model admins as entries of the admin's menus:
the "Cache" app on the admin index (console pages, beside the models the admin lists
itself) and unfold's sidebar group (``console.sidebar``). Each is shown only with its
permission."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cache_admin import permissions


@dataclass(frozen=True)
class Entry:
    url_name: str
    label: str | Promise
    permissions: tuple[str, ...]  # any one of them shows the entry
    icon: str  # a Material Symbols name, for unfold's sidebar

    def allowed(self, request: HttpRequest) -> bool:
        return any(request.user.has_perm(p) for p in self.permissions)


# The order is the order on the index page and in the sidebar.
PAGES = [
    Entry("cache_admin_dashboard", _("Dashboard"), (permissions.VIEW_DASHBOARD,), "monitoring"),
    Entry("cache_admin_server", _("Server"), (permissions.VIEW_DASHBOARD,), "dns"),
    Entry("cache_admin_keys", _("Keys"), (permissions.BROWSE_KEYS,), "key"),
    Entry(
        "cache_admin_analysis",
        _("Analysis"),
        (permissions.VIEW_DASHBOARD, permissions.ANALYZE),
        "analytics",
    ),
    Entry("cache_admin_invalidate", _("Invalidate"), (permissions.INVALIDATE,), "delete_sweep"),
    Entry("cache_admin_warm", _("Warm"), (permissions.WARM,), "local_fire_department"),
]
MODEL_PAGES = [
    Entry(
        "cache_admin_warmrun_changelist",
        _("Warm runs"),
        (permissions.VIEW_WARM_RUNS,),
        "manage_history",
    ),
    Entry(
        "cache_admin_ttloverride_changelist",
        _("TTL overrides"),
        (permissions.VIEW_TTL, permissions.CHANGE_TTL),
        "timer",
    ),
    Entry(
        "cache_admin_auditentry_changelist", _("Audit log"), (permissions.VIEW_AUDIT,), "history"
    ),
]


def console_entries(site: AdminSite, request: HttpRequest) -> list[dict[str, Any]]:
    entries = []
    for entry in PAGES:
        if not entry.allowed(request):
            continue
        try:
            url = reverse(f"{site.name}:{entry.url_name}", current_app=site.name)
        except NoReverseMatch:
            continue
        entries.append(
            {
                "name": entry.label,
                "object_name": entry.url_name,
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
