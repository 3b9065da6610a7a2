"""Delete everything under a prefix: a dry-run count, a confirmation, then a background job
(``cache_admin.deletion_jobs``) whose progress any process can show.

The deletion is confined to the site's KEY_PREFIX by the toolkit (S2); the job writes the
audit entry with the number of keys deleted when it ends.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from cache_admin import audit
from cache_admin.console.access import require
from cache_admin.console.forms import PrefixForm
from cache_admin.console.render import REFRESH_EVENT, fragment, page
from cache_admin.console.toolkit import Unavailable, call

# htmx stops polling on this status, and still swaps the response in.
STOP_POLLING = 286


def _page(request: HttpRequest, site: AdminSite, context: dict[str, Any]) -> HttpResponse:
    return page(
        request,
        site,
        "prefix_delete.html",
        context,
        title=_("Delete by prefix"),
        parent="cache_admin_keys",
    )


@require(audit.DELETE_KEYS)
def confirm_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    posted = request.method == "POST"
    form = PrefixForm(request.POST if posted else request.GET or None)
    context: dict[str, Any] = {"form": form, "count": None, "error": ""}
    if not form.is_valid():
        return _page(request, site, context)
    prefix = form.cleaned_data["prefix"]
    context["prefix"] = prefix
    try:
        if not posted:
            # A bounded dry run (P5): past the scan budget the page shows an estimate.
            counted = call(
                "invalidation", "CacheInvalidator.count_prefix", prefix, passthrough=(ValueError,)
            )
            context.update(counted=counted, count=counted.estimate)
            return _page(request, site, context)
        job_id = call(
            "deletion_jobs", "start", prefix, user=request.user, passthrough=(ValueError,)
        )
    except ValueError as exc:
        form.add_error("prefix", str(exc))
        context.pop("prefix")
    except Unavailable as exc:
        context["error"] = str(exc)
    if not posted or context["error"] or form.errors:
        return _page(request, site, context)
    return HttpResponseRedirect(
        reverse(f"{site.name}:cache_admin_prefix_delete_job", args=[job_id])
    )


def _status(job_id: str) -> dict[str, Any]:
    try:
        found = call("deletion_jobs", "status", job_id, passthrough=(ValueError,))
    except ValueError:
        return {"missing": True, "done": True}
    except Unavailable as exc:
        return {"error": str(exc), "done": False, "unreachable": True}
    if found is None:
        return {"missing": True, "done": True}
    return {
        "prefix": found.prefix,
        "label": found.label,
        "deleted": found.deleted,
        "matched": found.matched,
        "scanned": found.scanned,
        "state": found.state,
        "done": found.done,
        "percent": found.percent,
        "error": found.error or "",
    }


# A job started from the Invalidate page is followed by staff who may invalidate.
@require(audit.DELETE_KEYS, audit.INVALIDATE)
def job_view(request: HttpRequest, job_id: str, *, site: AdminSite) -> HttpResponse:
    job = _status(job_id)
    context = {"job_id": job_id, "job": job}
    status = 404 if job.get("missing") else 200
    return page(
        request,
        site,
        "prefix_delete_job.html",
        context,
        title=_("Deleting by prefix"),
        parent="cache_admin_keys",
        status=status,
    )


@require(audit.DELETE_KEYS, audit.INVALIDATE)
def job_fragment(request: HttpRequest, job_id: str, *, site: AdminSite) -> HttpResponse:
    job = _status(job_id)
    response = fragment(request, "prefix_delete_status.html", {"job_id": job_id, "job": job})
    if job["done"]:
        response.status_code = STOP_POLLING
        response["HX-Trigger"] = REFRESH_EVENT
    return response
