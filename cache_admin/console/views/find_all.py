"""Find all under a prefix: start a search (``keyspace.find_all``), follow it on the key
browser as its keys come in (htmx polling), cancel it. Staff who may browse keys start and
follow searches; the key page link (``?prefix=...&find=<id>``) shows one to anyone of them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from cache_admin import audit
from cache_admin.console import keyrows
from cache_admin.console.access import require
from cache_admin.console.render import fragment
from cache_admin.console.toolkit import Unavailable, as_unavailable
from cache_admin.job_state import AlreadyRunning
from cache_admin.keyspace import find_all

# Keys sent to the page per poll: one MEMORY USAGE/TTL/TYPE pipeline of at most this many.
ROWS_PER_POLL = 200


def keys_url(site: AdminSite, prefix: str, job_id: str) -> str:
    query = QueryDict(mutable=True)
    query["prefix"] = prefix
    query["find"] = job_id
    return f"{reverse(f'{site.name}:cache_admin_keys')}?{query.urlencode()}"


def find_context(job_id: str, offset: int = 0) -> dict[str, Any]:
    """A search's state for the templates: its status, and the rows from ``offset`` on."""
    try:
        with as_unavailable(passthrough=(ValueError,)):
            found = find_all.status(job_id)
            # No further than the count just read: the rows and the status agree.
            wanted = min(ROWS_PER_POLL, found.found - offset) if found else 0
            rows = find_all.found_keys(job_id, offset, wanted) if wanted > 0 else []
    except ValueError:
        found, rows = None, []
    except Unavailable as exc:
        return {"job_id": job_id, "unreachable": True, "error": str(exc), "offset": offset}
    if found is None:
        return {"job_id": job_id, "missing": True, "finished": True, "offset": offset}
    shown = offset + len(rows)
    return {
        "job_id": job_id,
        "status": found,
        "rows": keyrows.rows(rows),
        "offset": shown,
        "behind": shown < found.found,  # keys found and not yet on the page: poll again soon
        # Polling ends once the search has ended and every key it found is on the page.
        "finished": found.done and shown >= found.found,
        "limit": find_all.MAX_FOUND,
    }


@require(audit.BROWSE_KEYS, post_only=True)
def start_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    prefix = request.POST.get("prefix", "")
    try:
        with as_unavailable(passthrough=(ValueError, AlreadyRunning)):
            job_id = find_all.start(prefix, user=request.user)
    except AlreadyRunning as exc:  # the running search is shown instead
        messages.warning(request, str(exc))
        running = find_context(exc.job_id).get("status")
        return HttpResponseRedirect(
            keys_url(site, running.prefix if running else prefix, exc.job_id)
        )
    except (ValueError, Unavailable) as exc:
        messages.error(request, _("The search did not start: %(error)s") % {"error": exc})
        return HttpResponseRedirect(reverse(f"{site.name}:cache_admin_keys"))
    audit.record(request.user, "find_keys", prefix, job=job_id)
    return HttpResponseRedirect(keys_url(site, prefix, job_id))


@require(audit.BROWSE_KEYS)
def rows_fragment(request: HttpRequest, job_id: str, *, site: AdminSite) -> HttpResponse:
    raw = request.GET.get("offset", "0")
    offset = int(raw) if raw.isdigit() and int(raw) <= find_all.MAX_FOUND else 0
    find = find_context(job_id, offset)
    prefix = find["status"].prefix if find.get("status") else ""
    context = {
        "find": find,
        "back": keys_url(site, prefix, job_id),
        "can_delete": request.user.has_perm(audit.DELETE_KEYS),
    }
    return fragment(request, "keys_found.html", context)


@require(audit.BROWSE_KEYS, post_only=True)
def cancel_view(request: HttpRequest, job_id: str, *, site: AdminSite) -> HttpResponse:
    try:
        with as_unavailable(passthrough=(ValueError,)):
            found = find_all.status(job_id)
            stopped = found is not None and find_all.cancel(job_id)
    except (ValueError, Unavailable) as exc:
        messages.error(request, _("The search was not cancelled: %(error)s") % {"error": exc})
        return HttpResponseRedirect(reverse(f"{site.name}:cache_admin_keys"))
    if stopped:
        audit.record(request.user, "find_keys_cancel", found.prefix if found else "", job=job_id)
        messages.info(request, _("The search stops after its current batch."))
    else:
        messages.warning(request, _("That search is not running any more."))
    return HttpResponseRedirect(keys_url(site, found.prefix if found else "", job_id))
