"""Scoped list invalidation across processes: a save in one process invalidates the scope
another one cached, and the other way round."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from tests import django_child
from tests.list_scopes_support import listing, of, queries, scoped_by_category, two_categories


@pytest.fixture
def scoped() -> Iterator[None]:
    with scoped_by_category():
        yield


# Reads three lists in its own process (tests/django_child: same settings, Redis and test
# database), then prints how many queries each took: 0 for a cache hit.
CHILD = """
import json
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


def read_in_another_process(shop: dict[str, Any], *then: str) -> dict[str, int]:
    printed = django_child.run(CHILD, str(shop["laptops"].pk), str(shop["phones"].pk), *then)
    found: dict[str, int] = json.loads(printed.strip().splitlines()[-1])
    return found


@pytest.mark.django_db(transaction=True)
def test_a_save_in_one_process_invalidates_the_scope_cached_by_another(
    cache_alias: str, scoped: None
) -> None:
    shop = two_categories()
    laptops, phones = shop["laptops"], shop["phones"]
    assert min(read_in_another_process(shop).values()) > 0  # it filled them
    assert read_in_another_process(shop) == {"laptops": 0, "phones": 0, "all": 0}

    shop["laptop"].name = "Laptop Pro"
    shop["laptop"].save()  # autocommit: the tokens are bumped at once, here

    seen = read_in_another_process(shop)
    assert seen["phones"] == 0
    assert seen["laptops"] > 0 and seen["all"] > 0

    # And the other way: that process saves; this one's lists of the laptop's category miss.
    assert queries(lambda: listing(of(phones))) == 0
    listing(of(laptops))
    read_in_another_process(shop, "save")
    assert queries(lambda: listing(of(phones))) == 0
    assert queries(lambda: listing(of(laptops))) > 0
    assert settings.CACHE_ADMIN["CACHE_ALIAS"] == cache_alias
