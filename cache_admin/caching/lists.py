"""``CachePattern.cache_list_view``: the spec's pattern 6, cached (paginated) list views.

Key: ``{model}:list:<digest>`` of the canonical filters, page, page size, ordering and the
queryset's own SQL, so two different base querysets never share an entry (C4). Entries
carry the model's generation token: ``invalidate_list_cache(Model)`` is one write (P3).

Return shape: without ``page`` and ``per_page``, the list of rows. With either, a dict:
``{"items": [...], "count": int, "page": int, "per_page": int, "num_pages": int}``
(an out-of-range or malformed page gives the nearest valid page, as Django's
``Paginator.get_page`` does).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import models

from cache_admin import keys
from cache_admin.caching import fill
from cache_admin.caching.decorators import TypeRef, check_timeout, resolve_type

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 1000


def query_digest(queryset: models.QuerySet[Any]) -> str:
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # e.g. filter(id__in=[]): no SQL, and no rows either
        return keys.digest(["empty", str(queryset.query.model)])
    return keys.digest([queryset.db, sql, list(params)])


def ordering(queryset: models.QuerySet[Any]) -> list[str]:
    query = queryset.query
    if query.order_by:
        return [str(o) for o in query.order_by]
    if query.default_ordering:
        return [str(o) for o in queryset.model._meta.ordering]
    return []


def _per_page(per_page: Any) -> int:
    if per_page is None:
        return DEFAULT_PER_PAGE
    try:
        value = int(per_page)
    except (TypeError, ValueError):
        value = 0
    if isinstance(per_page, bool) or not 1 <= value <= MAX_PER_PAGE:
        raise ValueError(
            f"per_page must be a whole number from 1 to {MAX_PER_PAGE}, not {per_page!r}"
        )
    return value


def _page_number(page: Any) -> int:
    try:
        return max(1, int(page))
    except (TypeError, ValueError):
        return 1


class CachePattern:
    @staticmethod
    def list_key(
        queryset: models.QuerySet[Any],
        filters: dict[str, Any] | None = None,
        page: Any = None,
        per_page: Any = None,
    ) -> str:
        paginated = page is not None or per_page is not None
        params = {
            "filters": dict(filters or {}),
            "page": _page_number(page) if paginated else None,
            "per_page": _per_page(per_page) if paginated else None,
            "ordering": ordering(queryset),
            "query": query_digest(queryset),
        }
        return keys.list_key(queryset.model, params)

    @staticmethod
    def cache_list_view(
        queryset: models.QuerySet[Any],
        timeout: float | None = None,
        filters: dict[str, Any] | None = None,
        page: Any = None,
        per_page: Any = None,
        cache_type: TypeRef = None,
    ) -> list[Any] | dict[str, Any]:
        if not isinstance(queryset, models.QuerySet):
            raise TypeError(f"cache_list_view needs a QuerySet, not {type(queryset).__name__}")
        key = CachePattern.list_key(queryset, filters, page, per_page)
        slot = fill.Slot(
            key=key,
            cache_type=resolve_type(cache_type, key),
            timeout=check_timeout(timeout),
            models=(queryset.model,),
            family=keys.list_prefix(queryset.model),
        )
        if page is None and per_page is None:
            return fill.fetch(slot, lambda: list(queryset))
        size = _per_page(per_page)
        number = _page_number(page)

        def compute() -> dict[str, Any]:
            found = Paginator(queryset, size).get_page(number)
            return {
                "items": list(found.object_list),
                "count": found.paginator.count,
                "page": found.number,
                "per_page": size,
                "num_pages": found.paginator.num_pages,
            }

        return fill.fetch(slot, compute)
