"""Plug the console into an admin site: its URLs under ``cache/``, its "Cache" app entries,
and the admins of the package's models (TTL overrides, audit log, warm runs).

The site is wrapped rather than subclassed so that a project keeps its own site class
(plain admin, unfold's, or a custom one).
"""

from __future__ import annotations

import weakref
from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, include, path

from cache_admin.console.nav import add_console_entries

_installed: weakref.WeakSet[AdminSite] = weakref.WeakSet()


def install(site: AdminSite) -> None:
    if site in _installed:
        return
    _installed.add(site)
    # Imported here: the admin classes need the app registry (and unfold when installed).
    from cache_admin.console.model_admins import register_model_admins

    register_model_admins(site)
    original_get_urls = site.get_urls
    original_get_app_list = site.get_app_list

    def get_urls() -> list[URLPattern | URLResolver]:
        from cache_admin.console.urls import console_urls

        return [path("cache/", include(console_urls(site))), *original_get_urls()]

    def get_app_list(request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        app_list = original_get_app_list(request, app_label)
        if app_label in (None, "cache_admin"):
            add_console_entries(site, request, app_list)
        return app_list

    site.get_urls = get_urls  # type: ignore[method-assign]
    site.get_app_list = get_app_list  # type: ignore[method-assign]
