"""The warm page. Placeholder until warmers exist: it says that none are registered.

Views here are called as ``view(request, site=site)`` by console/urls.py; extra partial
endpoints may be listed in a module-level ``urlpatterns`` and are mounted under ``warm/``.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from cache_admin import audit
from cache_admin.console.access import require
from cache_admin.console.render import page


@require(audit.WARM)
def warm_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    return page(request, site, "warm_placeholder.html", {}, title=_("Warming"))
