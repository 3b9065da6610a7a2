"""One key: its value of any Redis type, paged, decoded safely (S3); delete, set or remove TTL."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import trigger_client_event

from cache_admin import audit
from cache_admin.console import back, detail
from cache_admin.console.access import require
from cache_admin.console.forms import TTLForm
from cache_admin.console.render import REFRESH_EVENT, page
from cache_admin.console.toolkit import Unavailable, as_unavailable
from cache_admin.keyspace import delete_key, key_from_token, set_ttl
from cache_admin.keyspace.names import site_prefix_bytes
from cache_admin.keyspace.names import text as show

MAX_PAGE = 10**6


def _back(request: HttpRequest, site: AdminSite) -> str:
    """Where the key was opened from (a list, a search, a report); the key browser else."""
    return back.requested(request, site, reverse(f"{site.name}:cache_admin_keys"))


def _detail_url(request: HttpRequest, site: AdminSite, token: str) -> str:
    query = QueryDict(mutable=True)
    query[back.PARAM] = _back(request, site)
    url = reverse(f"{site.name}:cache_admin_key_detail", args=[token])
    return f"{url}?{query.urlencode()}"


def _stored(token: str) -> bytes | None:
    """The stored key a link names, or None for a bad link or a key of another site (S2)."""
    try:
        with as_unavailable(passthrough=(ValueError,)):
            stored = key_from_token(token)
            inside = site_prefix_bytes()
    except (ValueError, Unavailable):
        return None
    return stored if stored.startswith(inside) else None


def _position(request: HttpRequest) -> tuple[int, str | None]:
    """The item page and cursor from the query; nonsense starts again from the top."""
    raw = request.GET.get("page", "0")
    page_number = int(raw) if raw.isdigit() and len(raw) < 10 and int(raw) <= MAX_PAGE else 0
    cursor = request.GET.get("cursor") or None
    return page_number, cursor[:60] if cursor else None


def _missing(request: HttpRequest, site: AdminSite, reason: str) -> HttpResponse:
    return page(
        request,
        site,
        "key_missing.html",
        {"reason": reason},
        title=_("Key not found"),
        parent="cache_admin_keys",
        status=404,
    )


def _render(
    request: HttpRequest, site: AdminSite, token: str, form: TTLForm | None = None
) -> HttpResponse:
    stored = _stored(token)
    if stored is None:
        return _missing(request, site, _("The link does not name a key of this site."))
    page_number, cursor = _position(request)
    try:
        try:
            found = detail.load(stored, page_number, cursor)
        except ValueError as exc:
            messages.warning(request, _("%(error)s Showing the first page.") % {"error": exc})
            found = detail.load(stored, 0, None)
    except (Unavailable, ValueError) as exc:
        return page(
            request,
            site,
            "key_detail.html",
            {"unavailable": str(exc), "token": token, "back": _back(request, site)},
            title=_("Cache key"),
            parent="cache_admin_keys",
        )
    if found is None:
        return _missing(
            request,
            site,
            _("The key %(key)s no longer exists (deleted or expired).") % {"key": show(stored)},
        )
    context = {
        "detail": found,
        "token": token,
        "ttl_form": form or TTLForm(),
        "can_change": request.user.has_perm(audit.DELETE_KEYS),
        "back": _back(request, site),
    }
    return page(
        request, site, "key_detail.html", context, title=_("Cache key"), parent="cache_admin_keys"
    )


@require(audit.BROWSE_KEYS)
def detail_view(request: HttpRequest, token: str, *, site: AdminSite) -> HttpResponse:
    return _render(request, site, token)


@require(audit.DELETE_KEYS, post_only=True)
def delete_view(request: HttpRequest, token: str, *, site: AdminSite) -> HttpResponse:
    stored = _stored(token)
    if stored is None:
        return _missing(request, site, _("The link does not name a key of this site."))
    try:
        with as_unavailable():
            deleted = delete_key(stored)
    except Unavailable as exc:
        messages.error(request, _("The key was not deleted: %(error)s") % {"error": exc})
        return HttpResponseRedirect(_detail_url(request, site, token))
    count = int(deleted)
    audit.record(request.user, "delete_key", show(stored), keys_affected=count)
    if count:
        messages.success(request, _("Deleted %(key)s.") % {"key": show(stored)})
    else:
        messages.warning(request, _("%(key)s was already gone.") % {"key": show(stored)})
    return trigger_client_event(HttpResponseRedirect(_back(request, site)), REFRESH_EVENT)


@require(audit.DELETE_KEYS, post_only=True)
def ttl_view(request: HttpRequest, token: str, *, site: AdminSite) -> HttpResponse:
    stored = _stored(token)
    if stored is None:
        return _missing(request, site, _("The link does not name a key of this site."))
    form = TTLForm(request.POST)
    if not form.is_valid():
        return _render(request, site, token, form)
    ttl = None if form.cleaned_data["remove"] else form.cleaned_data["ttl"]
    try:
        with as_unavailable():
            changed = set_ttl(stored, ttl)
    except Unavailable as exc:
        messages.error(request, _("The TTL was not changed: %(error)s") % {"error": exc})
        return HttpResponseRedirect(_detail_url(request, site, token))
    if not changed:
        return _missing(
            request, site, _("The key %(key)s no longer exists.") % {"key": show(stored)}
        )
    audit.record(request.user, "set_ttl" if ttl else "remove_ttl", show(stored), 1, ttl=ttl)
    if ttl:
        messages.success(request, _("TTL set to %(ttl)s s.") % {"ttl": ttl})
    else:
        messages.success(request, _("TTL removed: the key no longer expires."))
    return HttpResponseRedirect(_detail_url(request, site, token))
