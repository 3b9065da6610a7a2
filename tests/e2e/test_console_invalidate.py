"""The Invalidate page in Chromium: a registered model's instance, its lists, a prefix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import cache

from cache_admin import generations, keys
from cache_admin.invalidation import register, scopes, unregister
from cache_admin.models import AuditEntry, QueuedInvalidation
from tests.testapp.models import Category, Product


def test_invalidate_a_model(
    console: Any, registered_product: type[Product], shot: Callable[[str], Any]
) -> None:
    category = Category.objects.create(name="Laptops", slug="laptops")
    product = Product.objects.create(name="Laptop", slug="laptop", category=category)
    cache.set(keys.detail_key(product, product.pk), {"name": "Laptop"})
    cache.set(keys.slug_key(product, product.slug), {"name": "Laptop"})
    cache.set("product:999", "other")

    console.goto(console.url_for("/admin/cache/invalidate/"))
    shot("invalidate")
    console.select_option("#id_model-model", "testapp.product")
    console.select_option("#id_model-action", "instance")
    console.fill("#id_model-lookup", "laptop")
    console.click("#invalidate-model button[type=submit]")
    # POST/redirect/GET: the admin's message on the page the action redirects to.
    console.wait_for_selector(f"text={product.pk}: 2 keys deleted")
    assert console.url == console.url_for("/admin/cache/invalidate/")
    assert cache.get(keys.detail_key(product, product.pk)) is None
    assert cache.get("product:999") == "other"
    shot("invalidate-instance")

    console.select_option("#id_model-action", "lists")
    console.click("#invalidate-model button[type=submit]")
    console.wait_for_selector("text=lists: new generation")
    # A reload shows the page again and invalidates nothing twice.
    console.reload()
    console.wait_for_selector("#invalidate-model")
    assert console.get_by_text("lists: new generation").count() == 0

    console.fill("#id_model-lookup", "no-such-product")
    console.select_option("#id_model-action", "instance")
    console.click("#invalidate-model button[type=submit]")
    console.wait_for_selector("text=No product with pk or slug “no-such-product”.")
    shot("invalidate-unknown")
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "invalidate_model",
        "invalidate_lists",
    ]
    assert console.js_errors == []


def test_replay_what_an_outage_left_queued(console: Any, shot: Callable[[str], Any]) -> None:
    cache.set("search:product:lamp", ["stale"])
    QueuedInvalidation.objects.create(
        alias="default", kind="key", target=cache.make_key("search:product:lamp")
    )
    console.goto(console.url_for("/admin/cache/dashboard/"))
    notice = console.wait_for_selector("#cache-admin-queued")
    assert "1 invalidation issued while Redis was unreachable" in notice.inner_text()
    console.click("#cache-admin-queued a:text-is('Replay now')")
    console.wait_for_selector("#invalidate-queued")
    shot("invalidate-queued")
    console.click("#invalidate-queued button:text-is('Replay now')")
    console.wait_for_selector("text=1 queued invalidation replayed")
    assert console.query_selector("#invalidate-queued") is None
    shot("invalidate-replayed")
    assert cache.get("search:product:lamp") is None
    assert not QueuedInvalidation.objects.exists()
    assert console.js_errors == []


def test_invalidate_the_lists_of_one_scope(console: Any, shot: Callable[[str], Any]) -> None:
    register(Product, slug_field="slug", list_scopes=("category",))
    try:
        laptops = Category.objects.create(name="Laptops", slug="laptops")
        phones = Category.objects.create(name="Phones", slug="phones")
        before = {c.slug: generations.token_at(scope_key(c)) for c in (laptops, phones)}
        console.goto(console.url_for("/admin/cache/invalidate/"))
        console.wait_for_selector("text=Product lists are scoped by: category.")
        console.select_option("#id_model-model", "testapp.product")
        console.select_option("#id_model-action", "scope")
        console.fill("#id_model-scope", "category=nope")
        console.click("#invalidate-model button[type=submit]")
        console.wait_for_selector("text=No category with pk or slug “nope”.")
        shot("invalidate-scope-unknown")
        console.fill("#id_model-scope", "category=laptops")
        console.click("#invalidate-model button[type=submit]")
        console.wait_for_selector("text=lists of category=Laptops: new generation")
        shot("invalidate-scope")
        assert generations.token_at(scope_key(laptops)) != before["laptops"]
        assert generations.token_at(scope_key(phones)) == before["phones"]
        assert AuditEntry.objects.filter(action="invalidate_lists").count() == 1
        assert console.js_errors == []
    finally:
        unregister(Product)


def scope_key(category: Category) -> str:
    return scopes.scope_generation(Product, "category", category)
