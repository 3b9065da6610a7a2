from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cache_admin import CachePattern, generations
from cache_admin.keys import list_prefix
from tests.testapp.models import Category, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Category:
    laptops = Category.objects.create(name="Laptops", slug="laptops")
    phones = Category.objects.create(name="Phones", slug="phones")
    for n in range(7):
        Product.objects.create(
            name=f"P{n}", slug=f"p{n}", category=laptops if n < 5 else phones, is_active=n != 3
        )
    return laptops


def get_product_list(filters: dict[str, object] | None = None, **paging: object) -> object:
    queryset = Product.objects.filter(is_active=True)
    if filters:
        queryset = queryset.filter(**filters)
    return CachePattern.cache_list_view(queryset, timeout=300, filters=filters, **paging)


def names(rows: object) -> list[str]:
    assert isinstance(rows, list)
    return [p.name for p in rows]


def test_unpaginated_returns_the_list_and_hits(cache_alias: str, shop: Category) -> None:
    assert names(get_product_list()) == ["P0", "P1", "P2", "P4", "P5", "P6"]
    with CaptureQueriesContext(connection) as queries:
        assert names(get_product_list()) == ["P0", "P1", "P2", "P4", "P5", "P6"]
    assert len(queries) == 0


def test_paginated_shape(cache_alias: str, shop: Category) -> None:
    page = get_product_list(page=2, per_page=4)
    assert isinstance(page, dict)
    assert names(page["items"]) == ["P5", "P6"]
    assert (page["count"], page["page"], page["per_page"], page["num_pages"]) == (6, 2, 4, 2)
    with CaptureQueriesContext(connection) as queries:
        assert get_product_list(page="2", per_page=4) == page
    assert len(queries) == 0


def test_bad_page_gives_a_valid_page_and_bad_size_a_clear_error(
    cache_alias: str, shop: Category
) -> None:
    page = get_product_list(page="abc", per_page=4)
    assert isinstance(page, dict) and page["page"] == 1
    page = get_product_list(page=99, per_page=4)
    assert isinstance(page, dict) and page["page"] == 2
    for bad in (0, -1, "x", 10**6, True):
        with pytest.raises(ValueError, match="per_page must be a whole number"):
            get_product_list(page=1, per_page=bad)


def test_keys_are_canonical(cache_alias: str, shop: Category) -> None:
    base = Product.objects.filter(is_active=True)
    a = CachePattern.list_key(
        base.filter(category=shop, price__gte=1), {"category": shop, "price__gte": 1}
    )
    b = CachePattern.list_key(
        base.filter(price__gte=1, category=shop), {"price__gte": 1, "category": shop}
    )
    assert a == b
    assert a.startswith(list_prefix(Product))
    # Page, page size and ordering are part of the key.
    assert CachePattern.list_key(base, None, 1, 10) != CachePattern.list_key(base, None, 2, 10)
    assert CachePattern.list_key(base, None, 1, 10) != CachePattern.list_key(base, None, 1, 20)
    assert CachePattern.list_key(base) != CachePattern.list_key(base.order_by("-id"))


def test_different_base_querysets_never_share_an_entry(cache_alias: str, shop: Category) -> None:
    active = CachePattern.cache_list_view(Product.objects.filter(is_active=True), filters=None)
    everything = CachePattern.cache_list_view(Product.objects.all(), filters=None)
    assert len(active) == 6
    assert len(everything) == 7


def test_list_invalidation_is_one_generation_bump(cache_alias: str, shop: Category) -> None:
    get_product_list(), get_product_list({"category__slug": "phones"})
    Product.objects.filter(name="P0").update(is_active=False)
    assert "P0" in names(get_product_list())
    generations.bump(Product)
    assert "P0" not in names(get_product_list())


def test_empty_filters_and_empty_results(cache_alias: str, shop: Category) -> None:
    assert CachePattern.cache_list_view(Product.objects.filter(id__in=[])) == []
    with CaptureQueriesContext(connection) as queries:
        assert CachePattern.cache_list_view(Product.objects.filter(id__in=[])) == []
    assert len(queries) == 0


def test_not_a_queryset_is_a_clear_error(cache_alias: str) -> None:
    with pytest.raises(TypeError, match="needs a QuerySet"):
        CachePattern.cache_list_view([1, 2])  # type: ignore[arg-type]
