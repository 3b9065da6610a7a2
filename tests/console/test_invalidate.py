from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from cache_admin import breaker, deletion_jobs, generations, keys
from cache_admin.invalidation import register, scopes, unregister
from cache_admin.models import AuditEntry, QueuedInvalidation
from cache_admin.testing import free_port
from tests.testapp.models import Category, Product

URL = "admin:cache_admin_invalidate"


def post(client: Client, kind: str, **fields: str) -> str:
    """The page after the action: the redirect's target when it acted (POST/redirect/GET),
    the page with the form's errors when it did not."""
    data = {"kind": kind, **{f"{kind}-{k}": v for k, v in fields.items()}}
    response = client.post(reverse(URL), data)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse(URL))
        response = client.get(response["Location"])
    assert response.status_code == 200
    return response.content.decode()


def test_lists_registered_models(admin_client: Client, registered_product: type[Product]) -> None:
    body = admin_client.get(reverse(URL)).content.decode()
    assert "testapp.product" in body
    assert "product:" in body


def test_without_registered_models_says_so(admin_client: Client) -> None:
    body = admin_client.get(reverse(URL)).content.decode()
    assert "No model is registered" in body


@pytest.mark.parametrize("lookup", ["pk", "slug"])
def test_one_instance_by_pk_or_slug(
    admin_client: Client, registered_product: type[Product], product: Product, lookup: str
) -> None:
    cache.set(keys.detail_key(product, product.pk), "cached")
    cache.set(keys.slug_key(product, product.slug), "cached")
    cache.set("product:999", "other")
    value = str(product.pk) if lookup == "pk" else product.slug
    body = post(admin_client, "model", model="testapp.product", action="instance", lookup=value)
    # The admin message (plain admin capitalises it, unfold does not).
    assert f"roduct {product.pk}: 2 keys deleted" in body
    assert cache.get(keys.detail_key(product, product.pk)) is None
    assert cache.get(keys.slug_key(product, product.slug)) is None
    assert cache.get("product:999") == "other"
    entry = AuditEntry.objects.get(action="invalidate_model")
    assert entry.keys_affected == 2


def test_unknown_instance_is_a_message(
    admin_client: Client, registered_product: type[Product]
) -> None:
    body = post(admin_client, "model", model="testapp.product", action="instance", lookup="nope")
    assert "No product with pk or slug “nope”." in body
    assert not AuditEntry.objects.exists()


def test_instance_needs_a_lookup(admin_client: Client, registered_product: type[Product]) -> None:
    body = post(admin_client, "model", model="testapp.product", action="instance", lookup="")
    assert "Enter the pk or slug" in body


def test_unknown_model_is_refused(admin_client: Client, registered_product: type[Product]) -> None:
    body = post(admin_client, "model", model="auth.user", action="lists")
    assert "Select a valid choice" in body


def test_all_lists_get_a_new_generation(
    admin_client: Client, registered_product: type[Product]
) -> None:
    body = post(admin_client, "model", model="testapp.product", action="lists")
    assert "roduct lists: new generation" in body
    assert AuditEntry.objects.filter(action="invalidate_lists").exists()


def _follow_job(client: Client, body: str) -> str:
    """The page answers at once and follows a background job (P5); wait for it to end."""
    assert 'id="cache-admin-job"' in body
    job_id = body.split('id="cache-admin-job" data-job="')[1].split('"')[0]
    assert deletion_jobs.join(job_id, timeout=30)
    status = client.get(reverse("admin:cache_admin_prefix_delete_status", args=[job_id]))
    assert status.status_code == 286  # htmx stops polling
    return status.content.decode()


def test_everything_under_the_model_prefix(
    transactional_db: None, admin_client: Client, registered_product: type[Product]
) -> None:
    for i in range(3):
        cache.set(f"product:{i}", i)
    cache.set("category:1", 1)
    body = post(admin_client, "model", model="testapp.product", action="prefix")
    assert "keys under “product:”" in body
    assert "Done: 3 keys deleted." in _follow_job(admin_client, body)
    assert cache.get("product:0") is None
    assert cache.get("category:1") == 1
    entry = AuditEntry.objects.get(action="delete_prefix")
    assert entry.keys_affected == 3 and entry.target == "product:"


def test_by_prefix(transactional_db: None, admin_client: Client) -> None:
    cache.set("search:product:laptop", 1)
    cache.set("search:product:phone", 1)
    body = post(admin_client, "prefix", prefix="search:")
    assert "Done: 2 keys deleted." in _follow_job(admin_client, body)
    entry = AuditEntry.objects.get()
    assert entry.target == "search:"
    assert entry.keys_affected == 2


def test_staff_who_may_invalidate_can_follow_the_job(
    transactional_db: None, client: Client, django_user_model: Any
) -> None:
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("inv", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="invalidate_cache"))
    client.force_login(user)
    cache.set("search:1", 1)
    body = post(client, "prefix", prefix="search:")
    assert "Done: 1 key deleted." in _follow_job(client, body)


@pytest.mark.parametrize("prefix", ["", "   "])
def test_empty_prefix_is_refused(admin_client: Client, prefix: str) -> None:
    cache.set("search:1", 1)
    body = post(admin_client, "prefix", prefix=prefix)
    assert "errorlist" in body
    assert cache.get("search:1") == 1


def test_template_fragment(admin_client: Client) -> None:
    from django.core.cache.utils import make_template_fragment_key

    key = make_template_fragment_key("product_recommendations", ["7"])
    cache.set(key, "<ul>…</ul>")
    body = post(admin_client, "fragment", name="product_recommendations", vary_on="7")
    assert "roduct_recommendations: 1 key deleted" in body
    assert cache.get(key) is None
    assert AuditEntry.objects.filter(action="invalidate_fragment").exists()


def test_cache_page_by_path(transactional_db: None, admin_client: Client) -> None:
    body = post(admin_client, "page", path="/products/")
    # Finding a path's cached pages walks the cache_page entries: a background job (P5).
    assert "cache_page entries of /products/" in body
    assert "Done: 0 keys deleted." in _follow_job(admin_client, body)
    entry = AuditEntry.objects.get(action="invalidate_page")
    assert entry.keys_affected == 0


def test_cache_page_with_a_bad_path_is_a_form_error(admin_client: Client) -> None:
    body = post(admin_client, "page", path="products-without-slash")
    assert "errorlist" in body
    assert 'id="cache-admin-job"' not in body


def test_script_in_input_is_escaped(admin_client: Client) -> None:
    body = post(admin_client, "prefix", prefix="<script>alert(1)</script>")
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_invalidations_queued_during_an_outage_are_shown_and_replayed(
    admin_client: Client,
) -> None:
    cache.set("product:1", "stale")
    cache.set("product:2", "stale")
    cache.set("category:1", "kept")
    for name in ["product:1", "product:2"]:  # left by a process that exited meanwhile
        QueuedInvalidation.objects.create(alias="default", kind="key", target=cache.make_key(name))
    body = admin_client.get(reverse(URL)).content.decode()
    assert "2 invalidations issued while Redis was unreachable are waiting" in body
    dashboard = admin_client.get(reverse("admin:cache_admin_dashboard")).content.decode()
    assert 'id="cache-admin-queued"' in dashboard
    assert "#invalidate-queued" in dashboard  # the replay link, for staff who may invalidate

    body = post(admin_client, "replay")
    assert "2 queued invalidations replayed" in body
    assert cache.get("product:1") is None and cache.get("product:2") is None
    assert cache.get("category:1") == "kept"
    assert not QueuedInvalidation.objects.exists()
    assert 'id="invalidate-queued"' not in body  # nothing waits any more
    entry = AuditEntry.objects.get(action="invalidate_replay")
    assert entry.keys_affected == 2 and entry.user is not None


def test_replay_while_redis_is_still_down_keeps_the_queue(
    admin_client: Client, settings: Any
) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        },
    }
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": "down"}
    QueuedInvalidation.objects.create(alias="down", kind="prefix", target="search:")
    body = post(admin_client, "replay")
    assert "Redis is still unreachable: nothing replayed, 1 waiting" in body
    assert QueuedInvalidation.objects.count() == 1
    assert "1 invalidation issued while Redis was unreachable is waiting" in body
    breaker.breaker_for("down").reset()


def test_nothing_queued_shows_no_replay_card(admin_client: Client) -> None:
    body = admin_client.get(reverse(URL)).content.decode()
    assert 'id="invalidate-queued"' not in body
    dashboard = admin_client.get(reverse("admin:cache_admin_dashboard")).content.decode()
    assert 'id="cache-admin-queued"' not in dashboard


@pytest.fixture
def scoped_product(db: None) -> Iterator[type[Product]]:
    register(Product, slug_field="slug", list_scopes=("category",))
    yield Product
    unregister(Product)


def test_the_lists_of_one_scope_get_a_new_generation(
    admin_client: Client, scoped_product: type[Product], product: Product
) -> None:
    laptops = product.category
    phones = Category.objects.create(name="Phones", slug="phones")
    tokens = {c.slug: scopes.scope_generation(Product, "category", c) for c in (laptops, phones)}
    before = {slug: generations.token_at(key) for slug, key in tokens.items()}
    everything = generations.token(Product)
    body = admin_client.get(reverse(URL)).content.decode()
    assert "Product lists are scoped by: category." in body
    # By slug, then by pk: the lists of that category only.
    body = post(
        admin_client, "model", model="testapp.product", action="scope", scope="category=laptops"
    )
    assert "roduct lists of category=Laptops: new generation" in body
    assert generations.token_at(tokens["laptops"]) != before["laptops"]
    assert generations.token_at(tokens["phones"]) == before["phones"]
    assert generations.token(Product) == everything
    post(
        admin_client,
        "model",
        model="testapp.product",
        action="scope",
        scope=f"category={phones.pk}",
    )
    assert generations.token_at(tokens["phones"]) != before["phones"]
    entries = AuditEntry.objects.filter(action="invalidate_lists").order_by("pk")
    assert [e.detail["message"].split(" ", 1)[1] for e in entries] == [
        "lists of category=Laptops: new generation",
        "lists of category=Phones: new generation",
    ]


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ("", "Enter the scope as field=value"),
        ("laptops", "Type the scope as field=value, for example category=..."),
        ("name=Laptop", "Product lists are not scoped by &#x27;name&#x27;"),
        ("category=nope", "No category with pk or slug “nope”."),
        ("category=<script>x</script>", "&lt;script&gt;"),
    ],
)
def test_a_scope_that_names_no_lists_is_a_form_error(
    admin_client: Client, scoped_product: type[Product], product: Product, scope: str, message: str
) -> None:
    before = generations.token(Product)
    body = post(admin_client, "model", model="testapp.product", action="scope", scope=scope)
    assert message in body
    assert "<script>x" not in body
    assert not AuditEntry.objects.exists()
    assert generations.token(Product) == before


def test_a_model_without_list_scopes_says_so(
    admin_client: Client, registered_product: type[Product]
) -> None:
    body = post(admin_client, "model", model="testapp.product", action="scope", scope="category=1")
    assert "lists are not scoped by &#x27;category&#x27;" in body
    assert not AuditEntry.objects.exists()
