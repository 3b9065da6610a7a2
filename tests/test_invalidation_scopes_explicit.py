"""Scoped lists invalidated by explicit calls: invalidate_list_cache (every list, or one
scope) and invalidate_pks after an update() (with or without the rows read before)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cache_admin import CacheInvalidator
from tests.list_scopes_support import listing, of, queries, scoped_by_category, two_categories
from tests.testapp.models import Product


@pytest.fixture
def scoped() -> Iterator[None]:
    with scoped_by_category():
        yield


@pytest.fixture
def shop(db: None) -> dict[str, Any]:
    return two_categories()


def test_invalidating_every_list_reaches_the_scoped_ones_too(
    cache_alias: str, scoped: None, shop: dict[str, Any]
) -> None:
    laptops, phones = shop["laptops"], shop["phones"]
    listing(of(laptops)), listing(of(phones))
    CacheInvalidator.invalidate_list_cache(Product)
    assert queries(lambda: listing(of(laptops))) > 0
    assert queries(lambda: listing(of(phones))) > 0


def test_invalidating_one_scope(cache_alias: str, scoped: None, shop: dict[str, Any]) -> None:
    laptops, phones = shop["laptops"], shop["phones"]
    listing(of(laptops)), listing(of(phones)), listing(Product.objects.all())
    result = CacheInvalidator.invalidate_list_cache(Product, scope={"category": laptops})
    assert result.message == "product lists of category=Laptops: new generation"
    assert queries(lambda: listing(of(laptops))) > 0
    assert queries(lambda: listing(of(phones))) == 0
    assert queries(lambda: listing(Product.objects.all())) == 0
    with pytest.raises(ValueError, match="not scoped by 'price'"):
        CacheInvalidator.invalidate_list_cache(Product, scope={"price": 3})


def test_update_through_invalidate_pks_with_the_rows_read_before(
    cache_alias: str, scoped: None, shop: dict[str, Any]
) -> None:
    laptops, phones = shop["laptops"], shop["phones"]
    laptop = shop["laptop"]
    assert listing(of(laptops)) == ["laptop"] and listing(of(phones)) == ["phone"]
    before = list(Product.objects.filter(pk=laptop.pk))
    Product.objects.filter(pk=laptop.pk).update(category=phones)  # no signal
    assert listing(of(laptops)) == ["laptop"]  # stale until told
    CacheInvalidator.invalidate_pks(Product, [laptop.pk], previous=before)
    assert listing(of(laptops)) == []
    assert listing(of(phones)) == ["laptop", "phone"]


def test_invalidate_pks_without_the_rows_before_reaches_their_new_values_only(
    cache_alias: str, scoped: None, shop: dict[str, Any]
) -> None:
    laptops, phones = shop["laptops"], shop["phones"]
    laptop = shop["laptop"]
    listing(of(laptops)), listing(of(phones))
    Product.objects.filter(pk=laptop.pk).update(category=phones)
    CacheInvalidator.invalidate_pks(Product, [laptop.pk])
    assert listing(of(phones)) == ["laptop", "phone"]
    # Documented: the old category is not known after update(); pass previous= for it.
    assert listing(of(laptops)) == ["laptop"]
