"""The server page: slow log, clients, top commands and latency events of every primary
node (``cache_admin.stats.activity``), bounded, with a banner when Redis is down."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from cache_admin import audit
from cache_admin.console.access import require
from cache_admin.console.render import page
from cache_admin.console.toolkit import Unavailable, as_unavailable
from cache_admin.stats.activity import server_activity
from cache_admin.stats.clients import GROUPS
from cache_admin.stats.commands import TOP
from cache_admin.stats.slowlog import ARGUMENT_CHARS, ARGUMENTS, ENTRIES


@require(audit.VIEW_DASHBOARD)
def server_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    context = {
        "nodes": [],
        "unavailable": "",
        # Slow-log arguments can hold key names and values: shown to who may browse keys.
        "may_see_arguments": request.user.has_perm(audit.BROWSE_KEYS),
        "limits": {
            "entries": ENTRIES,
            "arguments": ARGUMENTS,
            "argument_chars": ARGUMENT_CHARS,
            "groups": GROUPS,
            "top": TOP,
        },
    }
    try:
        with as_unavailable():
            context["nodes"] = server_activity()
    except Unavailable as exc:
        context["unavailable"] = str(exc)
    return page(request, site, "server.html", context, title=_("Redis server"))
