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
from django.utils.translation import gettext_lazy as _
from django_htmx.http import HttpResponseStopPolling

from cache_admin.conf import conf

# Sent with an action's response so that the dashboard (and anything listening) refreshes at once.
REFRESH_EVENT = "cacheAdminRefresh"

PARENTS = {"cache_admin_keys": _("Keys")}


def unfold_active() -> bool:
    return apps.is_installed("unfold")


def flavour_templates(name: str) -> list[str]:
    """The unfold variant first when unfold is installed, then the plain admin template."""
    plain = f"cache_admin/{name}"
    return [f"cache_admin/unfold/{name}", plain] if unfold_active() else [plain]


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
    crumb_parent = None
    if parent is not None:
        crumb_parent = (PARENTS[parent], reverse(f"{site.name}:{parent}", current_app=site.name))
    full = {
        "cache_admin_list_crumbs": django.VERSION >= (6, 0),
        "crumb_parent": crumb_parent,
        **site.each_context(request),
        "title": title,
        "cache_admin_unfold": unfold_active(),
        "cache_admin_base": "cache_admin/unfold/base.html"
        if unfold_active()
        else "cache_admin/base.html",
        "refresh_ms": conf.CONSOLE_REFRESH_MS,
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
