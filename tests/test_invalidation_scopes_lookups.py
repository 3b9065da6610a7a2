"""Which querysets fix a list scope (the lookups that pin one category), and the scopes
register() accepts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db.models import Q

from cache_admin import generations as gens
from cache_admin.invalidation import register, scopes, unregister
from tests.list_scopes_support import of, scoped_by_category, two_categories
from tests.testapp.models import Category, Product


@pytest.fixture
def scoped() -> Iterator[None]:
    with scoped_by_category():
        yield


@pytest.fixture
def shop(db: None) -> dict[str, Any]:
    return two_categories()


@pytest.mark.parametrize(
    ("lookup", "fixed"),
    [
        (lambda c: Q(category=c), True),
        (lambda c: Q(category_id=c.pk), True),
        (lambda c: Q(category_id=str(c.pk)), True),
        (lambda c: Q(category__pk=c.pk), True),
        (lambda c: Q(category__in=[c.pk]), True),
        (lambda c: Q(category=c) & Q(is_active=True), True),
        (lambda c: Q(category__slug=c.slug), False),  # through a join
        (lambda c: Q(category=c) | Q(is_featured=True), False),
        (lambda c: ~Q(category=c), False),
        (lambda c: Q(category__in=list(range(1, 20))), False),  # too many values
    ],
    ids=[
        "instance",
        "attname",
        "attname as text",
        "related pk",
        "in",
        "and",
        "join",
        "or",
        "exclude",
        "in, many",
    ],
)
def test_what_fixes_a_list_scope(
    scoped: None, shop: dict[str, Any], lookup: Callable[[Category], Q], fixed: bool
) -> None:
    laptops = shop["laptops"]
    found = scopes.list_generations(Product.objects.filter(lookup(laptops)))
    all_lists = gens.key(Product)
    if fixed:
        assert found[0] == all_lists
        assert gens.scope_key(Product, "category", laptops.pk) in found
        assert gens.unscoped_key(Product) not in found
    else:
        assert found == (all_lists, gens.unscoped_key(Product))


def test_without_list_scopes_a_list_depends_on_the_model_token_only(shop: dict[str, Any]) -> None:
    assert scopes.list_generations(of(shop["laptops"])) == (gens.key(Product),)


def test_list_scopes_are_checked_at_registration(db: None) -> None:
    with pytest.raises(ValueError, match="has no field 'colour'"):
        register(Product, list_scopes=("colour",))
    with pytest.raises(ValueError, match="cannot scope lists"):
        register(Category, list_scopes=("products",))
    registration = register(Product, list_scopes=("category_id",))
    try:
        assert registration.list_scopes == ("category",)
        assert registration.reads_previous
    finally:
        unregister(Product)
