"""The console's URLs, each wrapped in the site's ``admin_view`` (login, CSRF, never cached)."""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from cache_admin.console.htmx import login_in_tab
from cache_admin.console.views import analysis as analysis
from cache_admin.console.views import dashboard as dashboard
from cache_admin.console.views import find_all as find_all
from cache_admin.console.views import invalidate as invalidate
from cache_admin.console.views import key_detail as key_detail
from cache_admin.console.views import keys as keys
from cache_admin.console.views import keys_delete as keys_delete
from cache_admin.console.views import prefix_delete as prefix_delete
from cache_admin.console.views import server as server
from cache_admin.console.views import warm as warm


def console_urls(site: AdminSite) -> list[URLPattern]:
    def wrap(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        def bound(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return view(request, *args, site=site, **kwargs)

        return login_in_tab(site, site.admin_view(update_wrapper(bound, view)))

    patterns = [
        # Not "" : the admin marks a sidebar entry current when its URL is a prefix of the
        # page's, and every console URL starts with cache/.
        path("dashboard/", wrap(dashboard.dashboard_view), name="cache_admin_dashboard"),
        path(
            "dashboard/stats/",
            wrap(dashboard.stats_fragment),
            name="cache_admin_dashboard_stats",
        ),
        path("server/", wrap(server.server_view), name="cache_admin_server"),
        path("analysis/", wrap(analysis.analysis_view), name="cache_admin_analysis"),
        path("analysis/start/", wrap(analysis.start_view), name="cache_admin_analysis_start"),
        path(
            "analysis/<str:job_id>/",
            wrap(analysis.report_view),
            name="cache_admin_analysis_report",
        ),
        path(
            "analysis/<str:job_id>/cancel/",
            wrap(analysis.cancel_view),
            name="cache_admin_analysis_cancel",
        ),
        path(
            "analysis/<str:job_id>/status/",
            wrap(analysis.status_fragment),
            name="cache_admin_analysis_status",
        ),
        path("keys/", wrap(keys.keys_view), name="cache_admin_keys"),
        path("keys/more/", wrap(keys.more_fragment), name="cache_admin_keys_more"),
        path("keys/tree/", wrap(keys.tree_fragment), name="cache_admin_keys_tree"),
        path(
            "keys/delete/",
            wrap(keys_delete.delete_selected_view),
            name="cache_admin_keys_delete",
        ),
        path("keys/find/", wrap(find_all.start_view), name="cache_admin_keys_find"),
        path(
            "keys/find/<str:job_id>/",
            wrap(find_all.rows_fragment),
            name="cache_admin_keys_found",
        ),
        path(
            "keys/find/<str:job_id>/cancel/",
            wrap(find_all.cancel_view),
            name="cache_admin_keys_find_cancel",
        ),
        path("keys/k/<str:token>/", wrap(key_detail.detail_view), name="cache_admin_key_detail"),
        path(
            "keys/k/<str:token>/delete/",
            wrap(key_detail.delete_view),
            name="cache_admin_key_delete",
        ),
        path("keys/k/<str:token>/ttl/", wrap(key_detail.ttl_view), name="cache_admin_key_ttl"),
        path(
            "keys/delete-prefix/",
            wrap(prefix_delete.confirm_view),
            name="cache_admin_prefix_delete",
        ),
        path(
            "keys/delete-prefix/<str:job_id>/",
            wrap(prefix_delete.job_view),
            name="cache_admin_prefix_delete_job",
        ),
        path(
            "keys/delete-prefix/<str:job_id>/status/",
            wrap(prefix_delete.job_fragment),
            name="cache_admin_prefix_delete_status",
        ),
        path("invalidate/", wrap(invalidate.invalidate_view), name="cache_admin_invalidate"),
        path("warm/", wrap(warm.warm_view), name="cache_admin_warm"),
    ]
    # The warm page may bring its own partial endpoints (progress bars); they get the
    # same wrapping and live under warm/.
    for extra in getattr(warm, "urlpatterns", []):
        patterns.append(path(f"warm/{extra.pattern}", wrap(extra.callback), name=extra.name))
    return patterns
