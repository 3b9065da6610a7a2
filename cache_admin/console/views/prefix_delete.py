"""Delete everything under a prefix: a dry-run count, a confirmation, then a background job
(``cache_admin.deletion_jobs``) whose progress any process can show.

The deletion is confined to the site's KEY_PREFIX by the toolkit (S2); the job writes the
audit entry with the number of keys deleted when it ends.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import trigger_client_event

from cache_admin import audit, deletion_jobs
from cache_admin.console.access import require
from cache_admin.console.forms import PrefixForm
from cache_admin.console.render import REFRESH_EVENT, fragment, page, stop_polling
from cache_admin.console.toolkit import Unavailable, as_unavailable
from cache_admin.invalidation import CacheInvalidator


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
    context: dict[str, Any] = {"form": form, "count": None, "unavailable": ""}
    if not form.is_valid():
        return _page(request, site, context)
    prefix = form.cleaned_data["prefix"]
    context["prefix"] = prefix
    job_id = None
    try:
        with as_unavailable(passthrough=(ValueError,)):
            if posted:
                job_id = deletion_jobs.start(prefix, user=request.user)
            else:
                # A bounded dry run (P5): past the scan budget the page shows an estimate.
                counted = CacheInvalidator.count_prefix(prefix)
                context.update(counted=counted, count=counted.estimate)
    except ValueError as exc:
        form.add_error("prefix", str(exc))
        context.pop("prefix")
    except Unavailable as exc:
        context["unavailable"] = str(exc)
    if job_id is None:
        return _page(request, site, context)
    messages.info(
        request,
        _("Deleting the site's keys under “%(prefix)s” in the background.") % {"prefix": prefix},
    )
    return HttpResponseRedirect(
        reverse(f"{site.name}:cache_admin_prefix_delete_job", args=[job_id])
    )


def job_status(job_id: str) -> dict[str, Any]:
    try:
        with as_unavailable(passthrough=(ValueError,)):
            found = deletion_jobs.status(job_id)
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
    job = job_status(job_id)
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
    job = job_status(job_id)
    context = {"job_id": job_id, "job": job}
    if not job["done"]:
        return fragment(request, "prefix_delete_status.html", context)
    finished = stop_polling(request, "prefix_delete_status.html", context)
    return trigger_client_event(finished, REFRESH_EVENT)
