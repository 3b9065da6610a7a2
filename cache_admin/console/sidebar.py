"""The console in django-unfold's sidebar (``UNFOLD["SIDEBAR"]["navigation"]``).

unfold shows every app of the admin in its sidebar until ``navigation`` is set; from then
on it shows only the groups listed there. :func:`sidebar_group` is the console's group
(every page, warm runs, TTL overrides and the audit log, each only for users with its
permission); :func:`sidebar_navigation` lists groups followed by every other app the user
may see, so that Users, Groups and the project's own models stay in the sidebar.

Importable from settings: nothing here touches models or the app registry at import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.urls import reverse_lazy
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cache_admin.console.nav import MODEL_PAGES, PAGES, Entry

Group = dict[str, Any]


def _item(entry: Entry, site_name: str) -> dict[str, Any]:
    return {
        "title": entry.label,
        "icon": entry.icon,
        "link": reverse_lazy(f"{site_name}:{entry.url_name}"),
        # A function, not a bound method: unfold deep-copies the navigation per request.
        "permission": lambda request: entry.allowed(request),
    }


def sidebar_group(title: str | Promise | None = None, *, site_name: str = "admin") -> Group:
    """The console's group: ``"navigation": [sidebar_group(), ...]``."""
    return {
        "title": _("Cache") if title is None else title,
        "separator": True,
        "items": [_item(entry, site_name) for entry in (*PAGES, *MODEL_PAGES)],
    }


def sidebar_navigation(*groups: Group, site: Any = None) -> Callable[[HttpRequest], list[Group]]:
    """``"navigation": sidebar_navigation()``: the console's group (or ``groups``), then a
    group per other app the user may see, as the admin index lists them.

    ``site``: the admin site whose apps are listed; by default the one the console is
    installed on (``CACHE_ADMIN["ADMIN_SITE"]``)."""
    chosen = groups or (sidebar_group(),)

    def navigation(request: HttpRequest) -> list[Group]:
        return [*chosen, *other_apps(request, chosen, site)]

    return navigation


def other_apps(request: HttpRequest, groups: tuple[Group, ...], site: Any) -> list[Group]:
    """A group per app of the site's index, without the pages ``groups`` already link to."""
    from cache_admin.console.site import configured_site

    if site is None:
        from django.contrib import admin

        site = configured_site() or admin.site
    listed = {str(item.get("link")) for group in groups for item in group.get("items", ())}
    found = []
    for app in site.get_app_list(request):
        items = [
            {"title": model["name"], "link": model["admin_url"]}
            for model in app["models"]
            if model.get("admin_url") and model["admin_url"] not in listed
        ]
        if items:
            found.append({"title": app["name"], "separator": True, "items": items})
    return found
