"""Render console pages inside the admin's chrome, on plain admin and on django-unfold."""

from __future__ import annotations

from typing import Any

import django
from django.apps import apps
from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django_htmx.http import HttpResponseStopPolling

from cache_admin import wording
from cache_admin.conf import conf
from cache_admin.console.nav import PAGES

# Sent with an action's response so that the dashboard (and anything listening) refreshes at once.
REFRESH_EVENT = "cacheAdminRefresh"

# A page shown between "Cache" and this one in the breadcrumbs: one of the console's pages.
PARENTS = {entry.url_name: entry.label for entry in PAGES}


def unfold_active() -> bool:
    return apps.is_installed("unfold")


def flavour_templates(name: str) -> list[str]:
    """The unfold variant first when unfold is installed, then the plain admin template."""
    plain = f"cache_admin/{name}"
    return [f"cache_admin/unfold/{name}", plain] if unfold_active() else [plain]


def crumbs(site: AdminSite, title: str, parent: str | None = None) -> list[dict[str, Any]]:
    """The trail after "Home": the Cache app, the parent page if any, this page (no link).
    Dicts with ``title`` and ``link``, the shape unfold's header trail renders."""

    def url(name: str, **kwargs: Any) -> str:
        return reverse(f"{site.name}:{name}", current_app=site.name, **kwargs)

    app = apps.get_app_config("cache_admin").verbose_name
    trail: list[dict[str, Any]] = [
        {"title": app, "link": url("app_list", kwargs={"app_label": "cache_admin"})}
    ]
    if parent is not None:
        trail.append({"title": PARENTS[parent], "link": url(parent)})
    trail.append({"title": title, "link": ""})
    return trail


def page(
    request: HttpRequest,
    site: AdminSite,
    template: str,
    context: dict[str, Any],
    *,
    title: str,
    status: int = 200,
    parent: str | None = None,
) -> TemplateResponse:
    """``parent``: the URL name of a console page shown between "Cache" and this page."""
    refresh_ms = conf.CONSOLE_REFRESH_MS
    full = {
        "cache_admin_list_crumbs": django.VERSION >= (6, 0),
        "cache_admin_crumbs": crumbs(site, title, parent),
        **site.each_context(request),
        "title": title,
        "cache_admin_unfold": unfold_active(),
        "cache_admin_base": "cache_admin/unfold/base.html"
        if unfold_active()
        else "cache_admin/base.html",
        "refresh_ms": refresh_ms,
        "refresh_every": wording.seconds(refresh_ms / 1000),
        **context,
    }
    return TemplateResponse(request, flavour_templates(template), full, status=status)


def _fragment_context(context: dict[str, Any]) -> dict[str, Any]:
    return {"cache_admin_unfold": unfold_active(), **context}


def fragment(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> TemplateResponse:
    full = _fragment_context(context)
    return TemplateResponse(request, flavour_templates(template), full, status=status)


def stop_polling(
    request: HttpRequest, template: str, context: dict[str, Any]
) -> HttpResponseStopPolling:
    """The last answer to a polling element: htmx swaps it in, then stops polling."""
    html = render_to_string(flavour_templates(template), _fragment_context(context), request)
    return HttpResponseStopPolling(html)
