"""``CachePattern.cache_list_view``: the spec's pattern 6, cached (paginated) list views.

Key: ``{model}:list:<digest>`` of the canonical filters, page, page size, ordering, the
queryset's own SQL and the shape of its rows (``values()``, ``values_list()``), so two
different base querysets never share an entry (C4). Entries carry the generation tokens
of the model's lists (``invalidation.scopes``: the lists of one scope value when the
queryset fixes a list scope): ``invalidate_list_cache(Model)`` is one write (P3).

Compiling the queryset's SQL for the key costs more than the cache hit itself, so the key
and the generation keys are remembered per process for each state of the query (its
fingerprint, ``shapes``: the pickle of every attribute the SQL is made from) with the same
filters, page and page size; an unpicklable query is keyed the long way each time.

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
from django.db.models.query import ModelIterable

from cache_admin import generations, keys
from cache_admin.caching import fill, shapes
from cache_admin.caching.decorators import TypeRef, check_timeout, resolve_type
from cache_admin.conf import snapshot
from cache_admin.invalidation import registrations, scopes

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 1000
MEMO_SIZE = 4096  # list shapes remembered per process; past it the memo starts over


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


def rows_shape(queryset: models.QuerySet[Any]) -> list[Any] | None:
    """What rows look like when they are not model instances: values_list("id") and
    values_list("id", flat=True) send the same SQL."""
    iterable = queryset._iterable_class
    if iterable is ModelIterable:
        return None
    fields = queryset._fields  # type: ignore[attr-defined]
    return [f"{iterable.__module__}.{iterable.__qualname__}", list(fields or ())]


# fingerprint of (query, rows, filters, page, per page) -> (settings, registry version, list
# key, generation keys): what the key of a list of that shape was in this process.
_memo: dict[bytes, tuple[object, int, str, tuple[str, ...]]] = {}


def _key_and_generations(
    queryset: models.QuerySet[Any], filters: Any, page: Any, per_page: Any
) -> tuple[str, tuple[str, ...]]:
    paginated = page is not None or per_page is not None
    number = _page_number(page) if paginated else None
    size = _per_page(per_page) if paginated else None
    fields = queryset._fields  # type: ignore[attr-defined]
    state = (queryset.query, queryset.db, queryset._iterable_class, fields, filters, number, size)
    shape = shapes.fingerprint(state)  # before anything compiles the query
    now, version = snapshot(), registrations.version()
    if shape is not None:
        found = _memo.get(shape)
        if found is not None and found[0] is now and found[1] == version:
            return found[2], found[3]
        shape = shapes.learn(state)
    key = CachePattern.list_key(queryset, filters, page, per_page)
    generations = scopes.list_generations(queryset)
    if shape is not None:
        if len(_memo) >= MEMO_SIZE:
            _memo.clear()
        _memo[shape] = (now, version, key, generations)
    return key, generations


class CachePattern:
    @staticmethod
    def list_version(queryset: models.QuerySet[Any]) -> str:
        """A string that changes whenever the cached lists of ``queryset`` are invalidated
        (its generation tokens): a key prefix for caches of pages made from the list, such
        as ``cache_page``. One round trip. Raises one of ``backend.REDIS_ERRORS`` when
        Redis is unreachable."""
        return ".".join(generations.tokens(scopes.list_generations(queryset)))

    @staticmethod
    def list_key(
        queryset: models.QuerySet[Any],
        filters: dict[str, Any] | None = None,
        page: Any = None,
        per_page: Any = None,
    ) -> str:
        paginated = page is not None or per_page is not None
        params: dict[str, Any] = {
            "filters": dict(filters or {}),
            "page": _page_number(page) if paginated else None,
            "per_page": _per_page(per_page) if paginated else None,
            "ordering": ordering(queryset),
            "query": query_digest(queryset),
        }
        shape = rows_shape(queryset)
        if shape is not None:
            params["rows"] = shape
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
        key, generations = _key_and_generations(queryset, filters, page, per_page)
        slot = fill.Slot(
            key,
            resolve_type(cache_type, key),
            check_timeout(timeout),
            generations,
            keys.list_prefix(queryset.model),
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
