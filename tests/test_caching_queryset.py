from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from cache_admin import cache_queryset, generations, stored_keys
from tests.testapp.models import Category, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop() -> Category:
    laptops = Category.objects.create(name="Laptops", slug="laptops")
    for n in range(5):
        Product.objects.create(name=f"P{n}", slug=f"p{n}", category=laptops, is_featured=n % 2 == 0)
    return laptops


@cache_queryset(timeout=600, key_prefix="featured_products")
def featured_products() -> QuerySet[Product]:
    return Product.objects.filter(is_featured=True).select_related("category")


def test_caches_the_evaluated_rows(cache_alias: str, shop: Category) -> None:
    with CaptureQueriesContext(connection) as first:
        rows = featured_products()
    assert isinstance(rows, list)
    assert [p.name for p in rows] == ["P0", "P2", "P4"]
    assert len(first) == 1
    with CaptureQueriesContext(connection) as second:
        again = featured_products()
    assert len(second) == 0
    assert [p.name for p in again] == ["P0", "P2", "P4"]
    assert again[0].category.name == "Laptops"  # select_related rows travel along


def test_bump_makes_every_list_of_the_model_miss(
    cache_alias: str, shop: Category, redis_client: redis.Redis
) -> None:
    @cache_queryset(timeout=600, key_prefix="products_in")
    def products_in(slug: str) -> QuerySet[Product]:
        return Product.objects.filter(category__slug=slug)

    featured_products(), products_in("laptops")
    Product.objects.filter(name="P1").update(is_featured=True)
    # Still cached: nobody invalidated.
    assert [p.name for p in featured_products()] == ["P0", "P2", "P4"]
    generations.bump(Product)
    with CaptureQueriesContext(connection) as queries:
        assert [p.name for p in featured_products()] == ["P0", "P1", "P2", "P4"]
        assert len(products_in("laptops")) == 5
    assert len(queries) == 2


def test_lost_generation_key_never_revives_old_entries(
    cache_alias: str, shop: Category, redis_client: redis.Redis
) -> None:
    featured_products()
    old_token = generations.token(Product)
    generations.bump(Product)
    new_token = generations.token(Product)
    assert new_token != old_token
    # Eviction or a restart loses the generation key: a fresh random token is made, which
    # neither the old nor the current entries hold.
    redis_client.delete(stored_keys.stored_key(generations.key(Product)))
    assert generations.token(Product) not in (old_token, new_token)
    with CaptureQueriesContext(connection) as queries:
        featured_products()
    assert len(queries) == 1


def test_value_is_readable_with_cache_get(cache_alias: str, shop: Category) -> None:
    rows = featured_products()
    tokens, payload = caches[cache_alias].get(featured_products.key_for())
    assert tokens == (generations.token(Product).encode(),)
    assert payload == rows


def test_depends_on_other_models(cache_alias: str, shop: Category) -> None:
    @cache_queryset(timeout=600, key_prefix="catalogue", depends_on=[Category])
    def catalogue() -> QuerySet[Product]:
        return Product.objects.select_related("category")

    catalogue()
    Category.objects.filter(pk=shop.pk).update(name="Notebooks")
    generations.bump(Category)
    assert catalogue()[0].category.name == "Notebooks"


def test_model_argument_skips_the_call_on_a_hit(cache_alias: str, shop: Category) -> None:
    calls: list[str] = []

    @cache_queryset(timeout=600, key_prefix="cheapest", model=Product)
    def cheapest(limit: int) -> QuerySet[Product]:
        calls.append("built")
        return Product.objects.order_by("price", "id")[:limit]

    assert len(cheapest(2)) == 2
    assert len(cheapest(limit=2)) == 2
    assert calls == ["built"]


def test_function_not_returning_a_queryset_is_a_clear_error(cache_alias: str) -> None:
    @cache_queryset(key_prefix="wrong")
    def wrong() -> Any:
        return [1, 2]

    with pytest.raises(TypeError, match="returns a QuerySet"):
        wrong()


def test_invalidate_and_refresh(cache_alias: str, shop: Category) -> None:
    featured_products()
    Product.objects.filter(name="P0").update(price=Decimal("9.99"))
    assert featured_products.refresh()[0].price == Decimal("9.99")
    Product.objects.filter(name="P0").update(is_featured=False)
    assert featured_products.invalidate() == 1
    assert [p.name for p in featured_products()] == ["P2", "P4"]


def test_an_exception_while_evaluating_is_not_cached(
    cache_alias: str, shop: Category, redis_client: redis.Redis
) -> None:
    @cache_queryset(key_prefix="broken")
    def broken() -> QuerySet[Product]:
        return Product.objects.extra(where=["no_such_column = 1"])

    with pytest.raises(Exception, match="no_such_column"):
        broken()
    # Neither a value nor a leftover lease: the next call tries again at once.
    assert redis_client.get(stored_keys.stored_key("broken")) is None
