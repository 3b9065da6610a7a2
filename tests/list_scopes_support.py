"""Product lists scoped by category: the registration, a shop of two categories, reading
a list and counting the queries it took."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from cache_admin import CachePattern
from cache_admin.invalidation import register, unregister
from tests.testapp.models import Category, Product


@contextlib.contextmanager
def scoped_by_category() -> Iterator[None]:
    """Product registered with its lists scoped by category."""
    register(Product, slug_field="slug", list_scopes=("category",))
    try:
        yield
    finally:
        unregister(Product)


def two_categories() -> dict[str, Any]:
    """Laptops and Phones, one product in each."""
    laptops = Category.objects.create(name="Laptops", slug="laptops")
    phones = Category.objects.create(name="Phones", slug="phones")
    return {
        "laptops": laptops,
        "phones": phones,
        "laptop": Product.objects.create(name="Laptop", slug="laptop", category=laptops),
        "phone": Product.objects.create(name="Phone", slug="phone", category=phones),
    }


def listing(queryset: QuerySet[Product]) -> list[str]:
    found = CachePattern.cache_list_view(queryset)
    return [p.slug for p in found]  # type: ignore[union-attr]


def of(category: Category) -> QuerySet[Product]:
    return Product.objects.filter(category=category)


def queries(action: Callable[[], Any]) -> int:
    """Database queries ``action`` ran: 0 for a cache hit."""
    with CaptureQueriesContext(connection) as seen:
        action()
    return len(seen)


def saved(product: Product, callbacks: Callable[..., Any], **changes: Any) -> None:
    with callbacks(execute=True):
        for name, value in changes.items():
            setattr(product, name, value)
        product.save()
