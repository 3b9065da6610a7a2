"""Plug the console into an admin site: its URLs under ``cache/`` and its "Cache" app entries.

The site is wrapped rather than subclassed so that a project keeps its own site class
(plain admin, unfold's, or a custom one).
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, include, path

from cache_admin.console.nav import add_console_entries


def install(site: AdminSite) -> None:
    if getattr(site, "_cache_admin_console", False):
        return
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
    site._cache_admin_console = True  # type: ignore[attr-defined]
