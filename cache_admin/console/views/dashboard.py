from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from cache_admin import audit
from cache_admin.console import figures
from cache_admin.console.access import require
from cache_admin.console.render import fragment, page


@require(audit.VIEW_DASHBOARD)
def dashboard_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    return page(
        request, site, "dashboard.html", figures.dashboard_context(), title=_("Cache dashboard")
    )


@require(audit.VIEW_DASHBOARD)
def stats_fragment(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    # The history note sits beside the chart, outside the polled block: swapped out of band.
    context = {**figures.dashboard_context(), "oob": True}
    return fragment(request, "dashboard_stats.html", context)
