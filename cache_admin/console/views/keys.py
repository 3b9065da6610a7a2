"""The key browser: a literal prefix, a namespace tree, a Redis-type filter, cursor paging (P5)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.translation import gettext as _

from cache_admin import audit
from cache_admin.conf import conf
from cache_admin.console import keyrows
from cache_admin.console.access import require
from cache_admin.console.forms import BrowseForm
from cache_admin.console.render import fragment, page
from cache_admin.console.toolkit import Unavailable


def _query(
    prefix: str,
    redis_type: str,
    page_size: int | None,
    cursor: str,
    auto: int = 0,
    delimiter: str = keyrows.DEFAULT_DELIMITER,
) -> str:
    query = QueryDict(mutable=True)
    query["prefix"] = prefix
    if redis_type:
        query["type"] = redis_type
    if delimiter != keyrows.DEFAULT_DELIMITER:
        query["delimiter"] = delimiter
    if page_size:
        query["page_size"] = str(page_size)
    query["cursor"] = cursor
    if auto:
        query["auto"] = str(auto)
    return query.urlencode()


def _auto_step(listing: keyrows.Listing, done_so_far: int) -> int | None:
    """The next automatic step while steps find nothing, up to CONSOLE_AUTO_SCAN_STEPS.

    Each step is its own request with the usual budget (P5): the chain only saves a rare
    prefix deep in a big keyspace from a long series of clicks on an empty page.
    """
    if listing.rows or listing.done or done_so_far >= int(conf.CONSOLE_AUTO_SCAN_STEPS):
        return None
    return done_so_far + 1


def browse(request: HttpRequest, *, with_tree: bool) -> dict[str, Any]:
    form = BrowseForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "listing": None, "tree": [], "error": ""}
    if request.GET and not form.is_valid():
        return context
    data = form.cleaned_data if request.GET else {}
    prefix = data.get("prefix") or ""
    redis_type = data.get("type") or ""
    page_size = data.get("page_size")
    cursor = data.get("cursor") or "0"
    delimiter = data.get("delimiter") or keyrows.DEFAULT_DELIMITER
    context.update(prefix=prefix, redis_type=redis_type, started=cursor, delimiter=delimiter)
    if delimiter != keyrows.DEFAULT_DELIMITER:  # kept by the tree's links
        query = QueryDict(mutable=True)
        query["delimiter"] = delimiter
        context["delimiter_query"] = "&" + query.urlencode()
    try:
        listing = keyrows.scan(prefix, cursor, redis_type, page_size)
        context["listing"] = listing
        context["more_query"] = _query(
            prefix, redis_type, page_size, listing.cursor, delimiter=delimiter
        )
        auto = _auto_step(listing, data.get("auto") or 0)
        if auto is not None:
            context.update(
                auto_step=auto,
                auto_steps=int(conf.CONSOLE_AUTO_SCAN_STEPS),
                auto_query=_query(
                    prefix, redis_type, page_size, listing.cursor, auto, delimiter=delimiter
                ),
            )
        if with_tree:
            context["tree"] = keyrows.tree(prefix, delimiter)
    except ValueError as exc:
        form.add_error(None, str(exc))
    except Unavailable as exc:
        context["error"] = str(exc)
    return context


@require(audit.BROWSE_KEYS)
def keys_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    context = browse(request, with_tree=True)
    context["can_delete"] = request.user.has_perm(audit.DELETE_KEYS)
    return page(request, site, "keys.html", context, title=_("Cache keys"))


@require(audit.BROWSE_KEYS)
def more_fragment(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    return fragment(request, "keys_more.html", browse(request, with_tree=False))
