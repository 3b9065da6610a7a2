from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction

from cache_admin import generations, keys, registered_models
from cache_admin.invalidation import register, unregister
from tests import redis_commands
from tests.testapp.models import Category, Product


@pytest.fixture
def registered() -> Iterator[None]:
    register(Product, slug_field="slug", attributes=("related",))
    yield
    unregister(Product)


@pytest.fixture
def category(db: None) -> Category:
    return Category.objects.create(name="Computers", slug="computers")


def _rename(product: Product) -> None:
    product.slug = "notebook"
    product.save()


# A write, and the keys it must delete: the row's old and new values.
WRITES: dict[str, tuple[Callable[[Product], Any], tuple[str, ...]]] = {
    "save": (_rename, ("detail", "slug:laptop", "slug:notebook", "related")),
    "delete": (lambda product: product.delete(), ("detail", "slug:laptop", "related")),
    # Documented: QuerySet.delete() is covered (no fast delete while a receiver listens).
    "queryset delete": (
        lambda product: Product.objects.filter(pk=product.pk).delete(),
        ("detail", "slug:laptop", "related"),
    ),
}


def _key(product: Product, name: str) -> str:
    if name == "detail":
        return keys.detail_key(Product, product.pk)
    if name == "related":
        return keys.attribute_key(product, "related")
    return keys.slug_key(Product, name.removeprefix("slug:"))


@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_deletes_old_and_new_keys_on_commit_not_before(
    write: str,
    cache_alias: str,
    category: Category,
    registered: None,
    django_capture_on_commit_callbacks: Callable[..., Any],
    redis_client: redis.Redis,
) -> None:
    cache = caches[cache_alias]
    with django_capture_on_commit_callbacks(execute=True):
        product = Product.objects.create(name="Laptop", slug="laptop", category=category)
    action, names = WRITES[write]
    named = [_key(product, name) for name in names]  # before the write: a delete clears pk
    for key in named:
        cache.set(key, "stale")
    unlinks = redis_commands.calls(redis_client, "unlink")

    with django_capture_on_commit_callbacks() as callbacks:
        action(product)
        assert all(cache.get(key) == "stale" for key in named)  # C2: nothing before commit
        assert redis_commands.calls(redis_client, "unlink") == unlinks
    assert len(callbacks) == 1  # one per row, the keys and the lists together

    callbacks[0]()
    for key in named:
        assert cache.get(key) is None, key


def test_a_stale_instance_still_invalidates_the_stored_slug(
    cache_alias: str,
    category: Category,
    registered: None,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # The old slug is the stored row's, not the one the instance was loaded with.
    cache = caches[cache_alias]
    product = Product.objects.create(name="Laptop", slug="v1", category=category)
    stale = Product.objects.get(pk=product.pk)
    Product.objects.filter(pk=product.pk).update(slug="v2")  # no signal
    cache.set(keys.slug_key(Product, "v2"), "stale")
    with django_capture_on_commit_callbacks(execute=True):
        stale.slug = "v3"
        stale.save()
    assert cache.get(keys.slug_key(Product, "v2")) is None


def test_keys_are_named_when_saved_not_when_committed(
    cache_alias: str,
    category: Category,
    registered: None,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    cache = caches[cache_alias]
    product = Product.objects.create(name="Laptop", slug="laptop", category=category)
    cache.set(keys.slug_key(Product, "saved"), "stale")
    with django_capture_on_commit_callbacks(execute=True):
        product.slug = "saved"
        product.save()
        product.slug = "changed-after-save"  # not saved
    assert cache.get(keys.slug_key(Product, "saved")) is None


@pytest.mark.parametrize("lists", [True, False])
def test_lists_get_a_new_generation_on_commit_unless_told_not_to(
    lists: bool,
    cache_alias: str,
    category: Category,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    register(Product, slug_field="slug", lists=lists)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            product = Product.objects.create(name="Laptop", slug="laptop", category=category)
        before = generations.token(Product)
        with django_capture_on_commit_callbacks() as callbacks:
            product.name = "Laptop 2"
            product.save()
        assert generations.token(Product) == before  # nothing before commit
        for callback in callbacks:
            callback()
        assert (generations.token(Product) != before) is lists
    finally:
        unregister(Product)


@pytest.mark.django_db(transaction=True)
def test_real_commit_and_rollback(cache_alias: str, registered: None) -> None:
    cache = caches[cache_alias]
    category = Category.objects.create(name="Computers", slug="computers")
    product = Product.objects.create(name="Laptop", slug="laptop", category=category)
    detail = keys.detail_key(Product, product.pk)
    cache.set(detail, "cached")
    cache.set(keys.slug_key(Product, "rolled-back"), "cached")

    with pytest.raises(RuntimeError), transaction.atomic():
        product.slug = "rolled-back"
        product.save()
        raise RuntimeError("abort")
    assert cache.get(detail) == "cached"  # nothing on rollback
    assert cache.get(keys.slug_key(Product, "rolled-back")) == "cached"

    with transaction.atomic():
        product.slug = "laptop-2"
        product.save()
        assert cache.get(detail) == "cached"  # not yet: the row is not committed
    assert cache.get(detail) is None


def test_registered_models_describe_themselves(registered: None) -> None:
    found = {r.model: r for r in registered_models()}
    registration = found[Product]
    assert registration.slug_field == "slug"
    assert registration.prefix == "product:"
    assert registration.label == "Product"
    assert registration.model_label == "testapp.product"
    assert registration.attributes == ("related",)


class Abstract(models.Model):
    class Meta:
        abstract = True
        app_label = "testapp"


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "says"),
    [
        ((Product,), {"slug_field": "no_such_field"}, FieldDoesNotExist, "no_such_field"),
        ((Abstract,), {}, TypeError, "abstract"),
        (("testapp.Product",), {}, TypeError, "needs a model class"),
    ],
    ids=["unknown field", "abstract model", "label"],
)
def test_register_refuses_mistakes(
    db: None, args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says):
        register(*args, **kwargs)
    assert Product not in {r.model for r in registered_models()}


def test_extra_keys_cover_old_and_new_values(
    cache_alias: str, category: Category, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    other = Category.objects.create(name="Phones", slug="phones")
    register(
        Product,
        slug_field="slug",
        extra_keys=lambda p: [f"category:{p.category_id}:products"],
    )
    try:
        cache = caches[cache_alias]
        product = Product.objects.create(name="Laptop", slug="laptop", category=category)
        cache.set(f"category:{category.pk}:products", "stale")
        cache.set(f"category:{other.pk}:products", "stale")
        with django_capture_on_commit_callbacks(execute=True):
            product.category = other
            product.save()
        assert cache.get(f"category:{category.pk}:products") is None
        assert cache.get(f"category:{other.pk}:products") is None
    finally:
        unregister(Product)


def test_unregister_stops_invalidation(
    cache_alias: str, category: Category, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    register(Product)
    unregister(Product)
    product = Product.objects.create(name="Laptop", slug="laptop", category=category)
    caches[cache_alias].set(keys.detail_key(Product, product.pk), "cached")
    with django_capture_on_commit_callbacks() as callbacks:
        product.save()
    assert callbacks == []


def test_queryset_update_is_not_seen_and_the_documented_calls_fix_it(
    cache_alias: str,
    category: Category,
    registered: None,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    from cache_admin import CacheInvalidator, delete_keys
    from cache_admin.invalidation import model_keys

    cache = caches[cache_alias]
    with django_capture_on_commit_callbacks(execute=True):
        product = Product.objects.create(name="Laptop", slug="laptop", category=category)
    for key in (keys.slug_key(Product, "laptop"), keys.detail_key(Product, product.pk)):
        cache.set(key, "stale")
    rows = list(Product.objects.filter(pk=product.pk))
    old_keys = [key for row in rows for key in model_keys(row)]
    with django_capture_on_commit_callbacks() as callbacks:
        Product.objects.filter(pk=product.pk).update(slug="notebook")
    assert callbacks == []  # no signal, nothing scheduled
    assert cache.get(keys.slug_key(Product, "laptop")) == "stale"

    delete_keys(old_keys)
    CacheInvalidator.invalidate_pks(Product, [product.pk])
    assert cache.get(keys.slug_key(Product, "laptop")) is None
    assert cache.get(keys.detail_key(Product, product.pk)) is None
