from __future__ import annotations

import pytest
import redis
from django.core.cache import caches
from django.db import models

from cache_admin import CachedAttribute, cached_attribute, stored_keys
from cache_admin.caching import known_attributes
from tests.testapp.models import Category, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def product() -> Product:
    laptops = Category.objects.create(name="Laptops", slug="laptops")
    for n in range(4):
        Product.objects.create(name=f"P{n}", slug=f"p{n}", category=laptops)
    return Product.objects.get(slug="p0")


def related(product: Product, calls: list[int]) -> CachedAttribute[list[Product]]:
    def compute() -> list[Product]:
        calls.append(product.pk)
        return Product.objects.filter(category=product.category).exclude(id=product.id)[:5]  # type: ignore[return-value]

    return CachedAttribute(
        instance=product, attr_name="related_products", func=compute, timeout=3600
    )


def test_value_is_cached_under_the_attribute_key(
    cache_alias: str, product: Product, redis_client: redis.Redis
) -> None:
    calls: list[int] = []
    first = related(product, calls).value
    second = related(product, calls).value
    assert [p.name for p in first] == [p.name for p in second] == ["P1", "P2", "P3"]
    assert calls == [product.pk]
    assert related(product, calls).key == f"product:{product.pk}:related_products"
    # A QuerySet is stored as its rows, readable with cache.get.
    assert isinstance(caches[cache_alias].get(f"product:{product.pk}:related_products"), list)
    assert (
        redis_client.ttl(stored_keys.stored_key(f"product:{product.pk}:related_products")) >= 3590
    )


def test_names_are_known_per_model(cache_alias: str, product: Product) -> None:
    assert related(product, []).value
    assert "related_products" in known_attributes(Product)
    assert "related_products" in known_attributes("testapp.product")
    assert "related_products" not in known_attributes(Category)


class Gadget(models.Model):
    class Meta:
        app_label = "testapp"
        managed = False

    def __str__(self) -> str:
        return "gadget"

    @cached_attribute(timeout=60)
    def score(self) -> int:
        return 7


def test_descriptor_registers_at_class_creation(cache_alias: str) -> None:
    assert "score" in known_attributes(Gadget)
    assert Gadget(pk=5).score == 7
    assert caches[cache_alias].get("gadget:5:score") == 7


def test_unsaved_instance_is_computed_and_not_stored(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    calls: list[str] = []
    unsaved = Product(name="new", slug="new")
    attribute = CachedAttribute(unsaved, "label", lambda: calls.append("x") or "x", 60)
    assert attribute.value == attribute.value == "x"
    assert calls == ["x", "x"]
    # Nothing but the package's own keys (its statistics).
    assert [k for k in redis_client.scan_iter() if b":cache_admin:" not in k] == []


def test_invalidate_and_refresh(cache_alias: str, product: Product) -> None:
    calls: list[int] = []
    assert related(product, calls).value
    assert related(product, calls).invalidate() == 1
    assert related(product, calls).value
    assert related(product, calls).refresh()
    assert calls == [product.pk] * 3


def test_bad_attribute_name_is_a_clear_error(product: Product) -> None:
    with pytest.raises(ValueError, match="attr_name"):
        CachedAttribute(product, "a:b", lambda: 1)
