"""Scoped list invalidation: ``register(Product, list_scopes=("category",))``.

A list whose queryset fixes the category depends on that category's token (and on the
model's "all lists" token); a save bumps the tokens of the row's old and new categories
and the token of the lists that fix none. So a save in category A leaves category B's lists
cached, moving a product from A to B invalidates both, and unscoped lists are invalidated
by every save. Misses are counted with their reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.db.models import QuerySet

from cache_admin import (
    CacheInvalidator,
    CachePattern,
    backend,
    cache_queryset,
    counters,
    stored_keys,
)
from cache_admin import generations as gens
from tests import redis_commands
from tests.list_scopes_support import (
    listing,
    of,
    queries,
    saved,
    scoped_by_category,
    two_categories,
)
from tests.testapp.models import Product


@pytest.fixture
def scoped() -> Iterator[None]:
    with scoped_by_category():
        yield


@pytest.fixture
def shop(db: None) -> dict[str, Any]:
    return two_categories()


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
