"""Delete everything under a prefix: a dry-run count, a confirmation, then a background job.

The deletion is confined to the site's KEY_PREFIX by the toolkit (S2).
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from cache_admin import audit
from cache_admin.console.access import require
from cache_admin.console.figures import pick
from cache_admin.console.forms import PrefixForm
from cache_admin.console.render import REFRESH_EVENT, fragment, page
from cache_admin.console.toolkit import Unavailable, available, call


def _count(result: Any, *names: str) -> int:
    found = pick(result, *names, "count", default=result)
    return int(found) if isinstance(found, int) else 0


def dry_run(prefix: str) -> int:
    result = call("invalidation", "CacheInvalidator.invalidate_by_prefix", prefix, dry_run=True)
    return _count(result, "matched")


@require(audit.DELETE_KEYS)
def confirm_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    form = PrefixForm(request.POST if request.method == "POST" else request.GET or None)
    context: dict[str, Any] = {"form": form, "count": None, "error": ""}
    if not form.is_valid():
        return page(request, site, "prefix_delete.html", context, title=_("Delete by prefix"))
    prefix = form.cleaned_data["prefix"]
    context["prefix"] = prefix
    if request.method != "POST":
        try:
            context["count"] = dry_run(prefix)
        except Unavailable as exc:
            context["error"] = str(exc)
        return page(request, site, "prefix_delete.html", context, title=_("Delete by prefix"))
    return _start(request, site, prefix, context)


def _start(
    request: HttpRequest, site: AdminSite, prefix: str, context: dict[str, Any]
) -> HttpResponse:
    try:
        if not available("deletion_jobs", "start"):
            # No background jobs in this version: delete inline, it is still SCAN + UNLINK.
            result = call("invalidation", "CacheInvalidator.invalidate_by_prefix", prefix)
            deleted = _count(result, "deleted")
            audit.record(request.user, "delete_prefix", prefix, keys_affected=deleted)
            context["done_count"] = deleted
            response = page(
                request, site, "prefix_delete.html", context, title=_("Delete by prefix")
            )
            response["HX-Trigger"] = REFRESH_EVENT
            return response
        job = call("deletion_jobs", "start", prefix, user=request.user)
    except Unavailable as exc:
        context["error"] = str(exc)
        return page(request, site, "prefix_delete.html", context, title=_("Delete by prefix"))
    job_id = str(pick(job, "id", "job_id", default=job))
    audit.record(request.user, "delete_prefix", prefix, keys_affected=None, job=job_id)
    url = reverse(f"{site.name}:cache_admin_prefix_delete_job", args=[job_id])
    return HttpResponseRedirect(url)


def _status(job_id: str) -> dict[str, Any]:
    try:
        found = call("deletion_jobs", "status", job_id)
    except Unavailable as exc:
        return {"error": str(exc), "done": True}
    if found is None:
        return {"missing": True, "done": True}
    deleted = int(pick(found, "deleted", "current", default=0) or 0)
    total = pick(found, "total", "expected")
    state = str(pick(found, "state", "status", default=""))
    done = bool(pick(found, "done", "finished", default=state in ("done", "finished", "failed")))
    percent = min(100, int(100 * deleted / total)) if total else (100 if done else 0)
    return {
        "prefix": pick(found, "prefix", default=""),
        "deleted": deleted,
        "total": total,
        "state": state,
        "done": done,
        "percent": percent,
        "error": pick(found, "error", default="") or "",
    }


@require(audit.DELETE_KEYS)
def job_view(request: HttpRequest, job_id: str, *, site: AdminSite) -> HttpResponse:
    context = {"job_id": job_id, "job": _status(job_id)}
    return page(request, site, "prefix_delete_job.html", context, title=_("Deleting by prefix"))


@require(audit.DELETE_KEYS)
def job_fragment(request: HttpRequest, job_id: str, *, site: AdminSite) -> HttpResponse:
    job = _status(job_id)
    response = fragment(request, "prefix_delete_status.html", {"job_id": job_id, "job": job})
    if job["done"]:
        # 286 tells htmx to stop polling; the final state is still swapped in.
        response.status_code = 286
        response["HX-Trigger"] = REFRESH_EVENT
    return response
