"""The key browser: a literal prefix, a namespace tree, a Redis-type filter, cursor paging (P5),
pages sorted by key, TTL or size, a selection of keys to delete, a find-all search's keys.

The namespace tree is a fragment of its own that the page loads once shown: its counts
walk the whole scan budget, which the page's first keys need not wait for.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from cache_admin import audit
from cache_admin.conf import conf
from cache_admin.console import keyrows
from cache_admin.console.access import require
from cache_admin.console.forms import BrowseForm
from cache_admin.console.render import fragment, page
from cache_admin.console.toolkit import Unavailable
from cache_admin.console.views.find_all import find_context, keys_url
from cache_admin.keyspace.ids import ID

SORTABLE = ("key", "ttl", "size")


def _query(
    prefix: str,
    redis_type: str,
    page_size: int | None,
    cursor: str,
    auto: int = 0,
    delimiter: str = keyrows.DEFAULT_DELIMITER,
    sort: str = "",
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
    if sort:
        query["sort"] = sort
    return query.urlencode()


def _auto_step(listing: keyrows.Listing, done_so_far: int) -> int | None:
    """The next automatic step while steps find nothing, up to CONSOLE_AUTO_SCAN_STEPS.

    Each step is its own request with the usual budget (P5): the chain only saves a rare
    prefix deep in a big keyspace from a long series of clicks on an empty page.
    """
    if listing.rows or listing.done or done_so_far >= int(conf.CONSOLE_AUTO_SCAN_STEPS):
        return None
    return done_so_far + 1


def _sort_links(sort: str, query: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Per sortable column: the query that sorts by it (again: the other way) and its mark."""
    links = {}
    for column in SORTABLE:
        ascending = sort == column
        links[column] = {
            "query": _query(**query, sort=f"-{column}" if ascending else column),
            "mark": "▲" if ascending else "▼" if sort == f"-{column}" else "",
        }
    return links


def browse(request: HttpRequest, site: AdminSite) -> dict[str, Any]:
    form = BrowseForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "listing": None, "tree": [], "unavailable": ""}
    if request.GET and not form.is_valid():
        return context
    data = form.cleaned_data if request.GET else {}
    prefix = data.get("prefix") or ""
    redis_type = data.get("type") or ""
    page_size = data.get("page_size")
    cursor = data.get("cursor") or "0"
    delimiter = data.get("delimiter") or keyrows.DEFAULT_DELIMITER
    sort = data.get("sort") or ""
    context.update(
        prefix=prefix,
        redis_type=redis_type,
        started=cursor,
        delimiter=delimiter,
        sort=sort,
        literal_prefix=ID not in prefix,
    )
    tree = QueryDict(mutable=True)
    tree["prefix"] = prefix
    if delimiter != keyrows.DEFAULT_DELIMITER:
        tree["delimiter"] = delimiter
    context["tree_query"] = tree.urlencode()
    same: dict[str, Any] = {
        "prefix": prefix,
        "redis_type": redis_type,
        "page_size": page_size,
        "delimiter": delimiter,
    }
    here = _query(**same, cursor=cursor, sort=sort)
    context.update(
        back=f"{reverse(f'{site.name}:cache_admin_keys')}?{here}",
        sort_links=_sort_links(sort, {**same, "cursor": cursor}),
    )
    try:
        if data.get("find"):  # the search's keys take the place of the bounded page
            context["find"] = find_context(data["find"])
            context["back"] = keys_url(site, prefix, data["find"])
            return context
        listing = keyrows.scan(prefix, cursor, redis_type, page_size, sort)
        context["listing"] = listing
        context["more_query"] = _query(**same, cursor=listing.cursor, sort=sort)
        auto = _auto_step(listing, data.get("auto") or 0)
        if auto is not None:
            context.update(
                auto_step=auto,
                auto_steps=int(conf.CONSOLE_AUTO_SCAN_STEPS),
                auto_query=_query(**same, cursor=listing.cursor, auto=auto, sort=sort),
            )
    except ValueError as exc:
        form.add_error(None, str(exc))
    except Unavailable as exc:
        context["unavailable"] = str(exc)
    return context


@require(audit.BROWSE_KEYS)
def keys_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    context = browse(request, site)
    context["can_delete"] = request.user.has_perm(audit.DELETE_KEYS)
    return page(request, site, "keys.html", context, title=_("Cache keys"))


@require(audit.BROWSE_KEYS)
def more_fragment(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    context = browse(request, site)
    context["can_delete"] = request.user.has_perm(audit.DELETE_KEYS)
    return fragment(request, "keys_more.html", context)


@require(audit.BROWSE_KEYS)
def tree_fragment(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    form = BrowseForm(request.GET)
    context: dict[str, Any] = {"form": form, "tree": None, "unavailable": ""}
    if not form.is_valid():
        return fragment(request, "keys_tree.html", context)
    prefix = form.cleaned_data.get("prefix") or ""
    delimiter = form.cleaned_data.get("delimiter") or keyrows.DEFAULT_DELIMITER
    context["prefix"] = prefix
    if delimiter != keyrows.DEFAULT_DELIMITER:  # kept by the tree's links
        query = QueryDict(mutable=True)
        query["delimiter"] = delimiter
        context["delimiter_query"] = "&" + query.urlencode()
    try:
        context["tree"] = keyrows.tree(prefix, delimiter)
    except (ValueError, Unavailable) as exc:
        context["unavailable"] = str(exc)
    return fragment(request, "keys_tree.html", context)
