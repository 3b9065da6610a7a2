"""Scoped list invalidation: ``register(Product, list_scopes=("category",))``.

A list whose queryset fixes the category depends on that category's token (and on the
model's "all lists" token); a save bumps the tokens of the row's old and new categories
and the token of the lists that fix none. So a save in category A leaves category B's lists
cached, moving a product from A to B invalidates both, and unscoped lists are invalidated
by every save. Misses are counted with their reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.test.utils import CaptureQueriesContext

from cache_admin import (
    CacheInvalidator,
    CachePattern,
    backend,
    cache_queryset,
    counters,
    stored_keys,
)
from cache_admin import generations as gens
from cache_admin.invalidation import register, scopes, unregister
from tests import redis_commands
from tests.testapp.models import Category, Product

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def scoped() -> Iterator[None]:
    register(Product, slug_field="slug", list_scopes=("category",))
    yield
    unregister(Product)


@pytest.fixture
def shop(db: None) -> dict[str, Any]:
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


def test_a_save_in_one_category_leaves_the_others_lists_cached(
    cache_alias: str,
    scoped: None,
    shop: dict[str, Any],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    laptops, phones = shop["laptops"], shop["phones"]
    lists = {
        "laptops": lambda: listing(of(laptops)),
        "phones": lambda: listing(of(phones)),
        "all": lambda: listing(Product.objects.all()),
    }
    for fill in lists.values():
        fill()
    assert {name: queries(read) for name, read in lists.items()} == dict.fromkeys(lists, 0)

    saved(shop["laptop"], django_capture_on_commit_callbacks, price="9.99")

    assert queries(lists["phones"]) == 0  # another category: still a hit
    assert queries(lists["laptops"]) > 0  # its category: invalidated
    assert queries(lists["all"]) > 0  # lists that fix no category: every save
    assert lists["laptops"]() == ["laptop"]


def test_moving_a_product_invalidates_its_old_and_new_category(
    cache_alias: str,
    scoped: None,
    shop: dict[str, Any],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    laptops, phones = shop["laptops"], shop["phones"]
    assert listing(of(laptops)) == ["laptop"] and listing(of(phones)) == ["phone"]
    # The instance was loaded before: the stored row says which category it leaves.
    stale = Product.objects.get(pk=shop["laptop"].pk)
    saved(stale, django_capture_on_commit_callbacks, category=phones)
    assert listing(of(laptops)) == []
    assert listing(of(phones)) == ["laptop", "phone"]


def test_deleting_and_creating_rows_invalidate_their_category(
    cache_alias: str,
    scoped: None,
    shop: dict[str, Any],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    laptops = shop["laptops"]
    assert listing(of(laptops)) == ["laptop"]
    with django_capture_on_commit_callbacks(execute=True):
        Product.objects.create(name="Notebook", slug="notebook", category=laptops)
    assert listing(of(laptops)) == ["laptop", "notebook"]
    with django_capture_on_commit_callbacks(execute=True):
        shop["laptop"].delete()
    assert listing(of(laptops)) == ["notebook"]


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


def test_a_querysets_entries_follow_every_save(
    cache_alias: str,
    scoped: None,
    shop: dict[str, Any],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    @cache_queryset(timeout=60, key_prefix="featured_products", model=Product)
    def featured() -> QuerySet[Product]:
        return Product.objects.filter(is_featured=True)

    assert featured() == []
    saved(shop["phone"], django_capture_on_commit_callbacks, is_featured=True)
    assert [p.slug for p in featured()] == ["phone"]


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


def test_a_save_writes_three_tokens_in_one_round_trip_however_many_lists(
    server_alias: str,  # one server: on a cluster, one round trip per node
    scoped: None,
    shop: dict[str, Any],
    redis_client: redis.Redis,
    round_trips: list[int],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    phones = shop["phones"]
    for page in range(1, 30):
        CachePattern.cache_list_view(of(phones), page=page, per_page=1)
    before = redis_commands.counts(redis_client)
    me = threading.get_ident()
    sent = round_trips.count(me)
    saved(shop["laptop"], django_capture_on_commit_callbacks, category=phones)
    # The named keys (one script), then the unscoped, old and new category tokens.
    assert round_trips.count(me) - sent == 2
    changed = redis_commands.delta(before, redis_commands.counts(redis_client))
    assert changed.pop("set") == 3, changed
    assert not {"scan", "keys", "del"} & set(changed)


def test_a_lost_scope_token_brings_no_old_entry_back(
    cache_alias: str, scoped: None, shop: dict[str, Any], redis_client: redis.Redis
) -> None:
    laptops = shop["laptops"]
    listing(of(laptops))
    token = stored_keys.stored_key(gens.scope_key(Product, "category", laptops.pk))
    assert redis_client.pttl(token) > 0  # scope tokens expire: their number stays bounded
    for _ in range(3):
        redis_client.delete(token)
        assert queries(lambda: listing(of(laptops))) > 0  # a miss, never the old entry
        assert queries(lambda: listing(of(laptops))) == 0


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


def test_misses_are_counted_by_reason(
    cache_alias: str, scoped: None, shop: dict[str, Any], settings: Any
) -> None:
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "TYPES": {"product_list": {"prefix": "product:list:", "ttl": 300}},
    }
    laptops = shop["laptops"]
    listing(of(laptops))  # absent: never filled
    listing(of(laptops))  # hit
    CacheInvalidator.invalidate_list_cache(Product, scope={"category": laptops})
    listing(of(laptops))  # invalidated: an entry of another generation
    # Another process is filling it: this lookup finds its lease.
    key = CachePattern.list_key(of(laptops))
    redis_client = backend.client()
    redis_client.delete(stored_keys.stored_key(key))
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "LEASE_WAIT": 0.01}
    redis_client.set(stored_keys.stored_key(key), b"N.\x00cache_admin-lease:elsewhere", px=60_000)
    listing(of(laptops))
    counters.flush()
    found = counters.totals()["product_list"]
    assert (found.hits, found.misses) == (1, 3)
    assert found.reasons == {"absent": 1, "invalidated": 1, "lease_wait": 1}


# Reads three lists in its own process (same settings, Redis and test database), then
# prints how many queries each took: 0 for a cache hit.
CHILD = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
from django.conf import settings
settings.DATABASES["default"]["NAME"] = os.environ["CACHE_ADMIN_TEST_DB"]
settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": os.environ["CACHE_ALIAS"]}
import django
django.setup()
from django.db import connection
from django.test.utils import CaptureQueriesContext
from cache_admin import CachePattern, register
from tests.testapp.models import Product
register(Product, list_scopes=("category",))
seen = {}
for name, queryset in [
    ("laptops", Product.objects.filter(category_id=int(sys.argv[1]))),
    ("phones", Product.objects.filter(category_id=int(sys.argv[2]))),
    ("all", Product.objects.all()),
]:
    with CaptureQueriesContext(connection) as queries:
        CachePattern.cache_list_view(queryset)
    seen[name] = len(queries)
if len(sys.argv) > 3:  # then save the laptop in its category, in this process
    product = Product.objects.get(slug="laptop")
    product.name = "Laptop 2"
    product.save()
print(json.dumps(seen))
"""


def read_in_another_process(shop: dict[str, Any], alias: str, *then: str) -> dict[str, int]:
    env = {
        **os.environ,
        "CACHE_ADMIN_TEST_DB": str(connection.settings_dict["NAME"]),
        "CACHE_ALIAS": alias,
    }
    args = [str(shop["laptops"].pk), str(shop["phones"].pk), *then]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


@pytest.mark.django_db(transaction=True)
def test_a_save_in_one_process_invalidates_the_scope_cached_by_another(
    cache_alias: str, scoped: None
) -> None:
    laptops = Category.objects.create(name="Laptops", slug="laptops")
    phones = Category.objects.create(name="Phones", slug="phones")
    shop = {
        "laptops": laptops,
        "phones": phones,
        "laptop": Product.objects.create(name="Laptop", slug="laptop", category=laptops),
        "phone": Product.objects.create(name="Phone", slug="phone", category=phones),
    }
    assert min(read_in_another_process(shop, cache_alias).values()) > 0  # it filled them
    assert read_in_another_process(shop, cache_alias) == {"laptops": 0, "phones": 0, "all": 0}

    shop["laptop"].name = "Laptop Pro"
    shop["laptop"].save()  # autocommit: the tokens are bumped at once, here

    seen = read_in_another_process(shop, cache_alias)
    assert seen["phones"] == 0
    assert seen["laptops"] > 0 and seen["all"] > 0

    # And the other way: that process saves; this one's lists of the laptop's category miss.
    assert queries(lambda: listing(of(phones))) == 0
    listing(of(laptops))
    read_in_another_process(shop, cache_alias, "save")
    assert queries(lambda: listing(of(phones))) == 0
    assert queries(lambda: listing(of(laptops))) > 0
    assert settings.CACHE_ADMIN["CACHE_ALIAS"] == cache_alias


def test_a_lists_version_changes_with_its_scope_only(
    cache_alias: str,
    scoped: None,
    shop: dict[str, Any],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    laptops, phones = of(shop["laptops"]), of(shop["phones"])
    before = {name: CachePattern.list_version(qs) for name, qs in [("l", laptops), ("p", phones)]}
    assert CachePattern.list_version(laptops) == before["l"]  # stable while nothing changes
    saved(shop["laptop"], django_capture_on_commit_callbacks, price="1.00")
    assert CachePattern.list_version(laptops) != before["l"]
    assert CachePattern.list_version(phones) == before["p"]
