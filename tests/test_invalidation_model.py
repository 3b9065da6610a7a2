from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches

from cache_admin import CachedAttribute, CacheInvalidator, backend, generations, keys, stored_keys
from cache_admin.invalidation import register, unregister
from tests import redis_commands
from tests.testapp.models import Category, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def product() -> Product:
    category = Category.objects.create(name="Computers", slug="computers")
    return Product.objects.create(name="Laptop", slug="laptop", category=category)


@pytest.fixture
def registered() -> Iterator[None]:
    register(Product, slug_field="slug", attributes=("reviews",))
    yield
    unregister(Product)


def test_invalidate_model_deletes_detail_slug_and_attribute_keys(
    cache_alias: str, product: Product, registered: None
) -> None:
    cache = caches[cache_alias]
    detail = keys.detail_key(Product, product.pk)
    slug = keys.slug_key(Product, "laptop")
    declared = keys.attribute_key(product, "reviews")
    other = keys.detail_key(Product, product.pk + 1)
    for key in (detail, slug, declared, other):
        cache.set(key, "cached")

    result = CacheInvalidator.invalidate_model(product)

    assert result.deleted == 3
    # Also named: attributes other code taught this process (none of them cached here).
    assert {detail, slug, declared} <= set(result.keys)
    assert other not in result.keys
    assert not result.queued
    assert result.message == f"product {product.pk}: 3 keys deleted"
    assert cache.get(detail) is None and cache.get(slug) is None and cache.get(declared) is None
    assert cache.get(other) == "cached"


def test_invalidate_model_finds_attributes_learned_in_process(
    cache_alias: str, product: Product
) -> None:
    calls = []

    def related() -> list[str]:
        calls.append(1)
        return ["mouse"]

    attribute = CachedAttribute(instance=product, attr_name="related_products", func=related)
    assert attribute.value == ["mouse"]
    assert caches[cache_alias].get(keys.attribute_key(product, "related_products")) is not None

    result = CacheInvalidator.invalidate_model(product)

    assert keys.attribute_key(product, "related_products") in result.keys
    assert attribute.value == ["mouse"]
    assert len(calls) == 2  # recomputed: the cached value was gone


def test_unregistered_model_uses_its_slug_field(cache_alias: str, product: Product) -> None:
    cache = caches[cache_alias]
    cache.set(keys.slug_key(Product, "laptop"), "cached")
    result = CacheInvalidator.invalidate_model(product)
    assert keys.slug_key(Product, "laptop") in result.keys
    assert cache.get(keys.slug_key(Product, "laptop")) is None


def test_previous_values_are_covered(cache_alias: str, product: Product, registered: None) -> None:
    cache = caches[cache_alias]
    old = Product.objects.get(pk=product.pk)
    product.slug = "notebook"
    cache.set(keys.slug_key(Product, "laptop"), "old")
    cache.set(keys.slug_key(Product, "notebook"), "new")
    CacheInvalidator.invalidate_model(product, previous=old)
    assert cache.get(keys.slug_key(Product, "laptop")) is None
    assert cache.get(keys.slug_key(Product, "notebook")) is None


def test_invalidate_model_refuses_an_unsaved_instance() -> None:
    with pytest.raises(ValueError, match="no primary key"):
        CacheInvalidator.invalidate_model(Product(name="x", slug="x"))


def test_invalidate_pks_after_queryset_update(
    cache_alias: str, product: Product, registered: None
) -> None:
    cache = caches[cache_alias]
    second = Product.objects.create(name="Phone", slug="phone", category=product.category)
    gone_pk = second.pk + 100
    for key in (
        keys.detail_key(Product, product.pk),
        keys.detail_key(Product, second.pk),
        keys.slug_key(Product, "phone"),
        keys.detail_key(Product, gone_pk),
    ):
        cache.set(key, "cached")

    Product.objects.update(price=5)  # sends no signal
    result = CacheInvalidator.invalidate_pks(Product, [product.pk, second.pk, gone_pk])

    assert result.deleted == 4
    assert cache.get(keys.slug_key(Product, "phone")) is None
    assert cache.get(keys.detail_key(Product, gone_pk)) is None


def test_invalidate_keys(cache_alias: str) -> None:
    cache = caches[cache_alias]
    cache.set("featured_products", [1])
    cache.set("active_categories", [2])
    result = CacheInvalidator.invalidate_keys("featured_products", "missing")
    assert (result.deleted, result.action, result.keys) == (
        1,
        "keys",
        ("featured_products", "missing"),
    )
    assert cache.get("active_categories") == [2]
    with pytest.raises(ValueError, match="at least one key"):
        CacheInvalidator.invalidate_keys()


def test_invalidate_list_cache_gives_a_new_generation(cache_alias: str) -> None:
    before = generations.token(Product)
    result = CacheInvalidator.invalidate_list_cache(Product)
    assert result.generation and result.generation != before
    assert generations.token(Product) == result.generation
    assert result.message == "product lists: new generation"


def test_list_invalidation_costs_the_same_with_10_and_10000_lists(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    # P3: one write whatever the number of cached lists.
    cache = caches[cache_alias]
    generations.token(Product)
    deltas = []
    for count in (10, 10_000):
        client = backend.client(cache)
        pipe = client.pipeline(transaction=False)
        for n in range(count):
            pipe.set(stored_keys.stored_key(keys.list_key(Product, {"page": n}), cache), b"x")
        pipe.execute()
        before = redis_commands.counts(redis_client)
        CacheInvalidator.invalidate_list_cache(Product)
        deltas.append(redis_commands.delta(before, redis_commands.counts(redis_client)))
    assert deltas[0] == deltas[1] == {"set": 1}, deltas


def test_cached_list_is_recomputed_after_invalidate_list_cache(
    cache_alias: str, product: Product
) -> None:
    from cache_admin import CachePattern

    first = CachePattern.cache_list_view(Product.objects.all(), timeout=300)
    Product.objects.create(name="Phone", slug="phone", category=product.category)
    assert CachePattern.cache_list_view(Product.objects.all(), timeout=300) == first  # cached

    CacheInvalidator.invalidate_list_cache(Product)

    fresh = CachePattern.cache_list_view(Product.objects.all(), timeout=300)
    assert len(fresh) == len(first) + 1


def test_many_keys_go_in_batches(
    cache_alias: str, product: Product, redis_client: redis.Redis, settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 500}
    cache = caches[cache_alias]
    created = Product.objects.bulk_create(
        Product(name=f"p{n}", slug=f"p-{n}", category=product.category) for n in range(600)
    )
    pks = [p.pk for p in Product.objects.all()]
    cache.set_many({keys.detail_key(Product, pk): 1 for pk in pks})
    cache.set_many({keys.slug_key(Product, p.slug): 1 for p in created})
    before = redis_commands.calls(redis_client, "unlink")

    result = CacheInvalidator.invalidate_pks(Product, pks)

    assert result.deleted == len(pks) + len(created)
    # 500 keys per UNLINK (the named keys include attributes other tests taught the process).
    assert len(result.keys) > 1000
    unlinks = redis_commands.calls(redis_client, "unlink") - before
    stored = [stored_keys.stored_key(key, cache) for key in result.keys]
    # On a cluster each UNLINK keeps to one hash slot as well.
    groups = backend.by_slot(stored) if backend.is_cluster(backend.client()) else [stored]
    assert unlinks == sum(math.ceil(len(group) / 500) for group in groups)
