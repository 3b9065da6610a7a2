"""Attribute keys are invalidated whichever process wrote them: each store adds the name to
the model's name set, and a model invalidation deletes every name in it, by name, in one
round trip on a single server (two where a script cannot build keys)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.db import connection

from cache_admin import CachedAttribute, CacheInvalidator, keys, register, stored_keys
from cache_admin.caching import known_attributes
from cache_admin.invalidation import unregister
from cache_admin.invalidation.registrations import _attributes, attribute_names_key
from tests import redis_commands
from tests.testapp.models import Category, Product

ROOT = Path(__file__).resolve().parents[1]

# Fills attribute ``sys.argv[2]`` of Product ``sys.argv[1]`` in its own process, on the same
# settings (the test's cache alias included), Redis and test database, then exits: nothing
# of it stays in the test's process.
CHILD = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
from django.conf import settings
settings.DATABASES["default"]["NAME"] = os.environ["CACHE_ADMIN_TEST_DB"]
alias = os.environ["CACHE_ALIAS"]
settings.CACHES = {**settings.CACHES, alias: json.loads(os.environ["CACHE_CONFIG"])}
settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": alias}
import django
django.setup()
from cache_admin import CachedAttribute
from tests.testapp.models import Product
product = Product.objects.get(pk=int(sys.argv[1]))
print(CachedAttribute(product, sys.argv[2], lambda: "filled elsewhere", 600).value)
"""


def fill_in_another_process(product: Product, name: str, alias: str) -> None:
    env = {
        **os.environ,
        "CACHE_ADMIN_TEST_DB": str(connection.settings_dict["NAME"]),
        "CACHE_ALIAS": alias,
        "CACHE_CONFIG": json.dumps(settings.CACHES[alias]),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(product.pk), name],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "filled elsewhere"


@pytest.fixture
def product(transactional_db: None) -> Product:
    category = Category.objects.create(name="Computers", slug="computers")
    return Product.objects.create(name="Laptop", slug="laptop", category=category)


@pytest.fixture
def forget_names() -> Callable[[str], None]:
    """Make this process forget an attribute name, as a process that never used it."""

    def forget(name: str) -> None:
        for names in _attributes.values():
            names.discard(name)

    return forget


def test_a_key_filled_in_another_process_is_invalidated_here(
    cache_alias: str, product: Product, forget_names: Callable[[str], None]
) -> None:
    forget_names("seen_elsewhere")
    fill_in_another_process(product, "seen_elsewhere", cache_alias)
    cache = caches[cache_alias]
    key = keys.attribute_key(product, "seen_elsewhere")
    assert cache.get(key) == "filled elsewhere"
    assert "seen_elsewhere" not in known_attributes(Product)  # this process never used it

    result = CacheInvalidator.invalidate_model(product)

    assert cache.get(key) is None
    assert result.deleted >= 1
    # Learned: while Redis is out of reach, this process names it with the others.
    assert "seen_elsewhere" in known_attributes(Product)


def test_a_save_in_this_process_invalidates_it_too(
    cache_alias: str,
    product: Product,
    forget_names: Callable[[str], None],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    forget_names("seen_elsewhere")
    fill_in_another_process(product, "seen_elsewhere", cache_alias)
    register(Product, slug_field="slug", alias=cache_alias)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            product.name = "Laptop Pro"
            product.save()
    finally:
        unregister(Product)
    assert caches[cache_alias].get(keys.attribute_key(product, "seen_elsewhere")) is None


def test_one_round_trip_on_a_single_server(
    server_alias: str, product: Product, round_trips: list[int], redis_client: redis.Redis
) -> None:
    cache = caches[server_alias]
    for name in ("a", "b", "c"):
        CachedAttribute(product, name, lambda: 1, 600).value  # noqa: B018
    other = Product.objects.create(name="Mouse", slug="mouse", category=product.category)
    CachedAttribute(other, "a", lambda: 1, 600).value  # noqa: B018
    CacheInvalidator.invalidate_model(other)  # a warm connection and a loaded script
    me = threading.get_ident()
    round_trips.clear()

    result = CacheInvalidator.invalidate_model(product)

    assert round_trips.count(me) == 1  # one command sent, one answer read
    assert result.deleted == 3
    assert not any(cache.has_key(keys.attribute_key(product, n)) for n in ("a", "b", "c"))


def test_two_round_trips_when_keys_cannot_be_built_in_the_script(
    product: Product, settings: Any, round_trips: list[int], forget_names: Callable[[str], None]
) -> None:
    # A KEY_FUNCTION of the project's own: the script cannot make keys, the client does.
    settings.CACHES = {
        **settings.CACHES,
        "custom": {
            **settings.CACHES["default"],
            "KEY_PREFIX": "custom",
            "KEY_FUNCTION": "tests.test_invalidation_attributes.reversed_key",
        },
    }
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": "custom"}
    forget_names("seen_elsewhere")
    fill_in_another_process(product, "seen_elsewhere", "custom")
    cache = caches["custom"]
    key = keys.attribute_key(product, "seen_elsewhere")
    assert cache.get(key) == "filled elsewhere"
    me = threading.get_ident()
    round_trips.clear()

    CacheInvalidator.invalidate_model(product)

    assert round_trips.count(me) == 2  # SMEMBERS, then UNLINK
    assert cache.get(key) is None


def test_a_cluster_reads_the_names_then_unlinks_by_slot(
    cluster_alias: str, product: Product, redis_client: redis.Redis
) -> None:
    # A script may only touch the keys it declares, all in one slot: the names are read
    # (SMEMBERS), then the keys unlinked by the cluster client, node by node.
    cache = caches[cluster_alias]
    for name in ("a", "b", "c"):
        CachedAttribute(product, name, lambda: 1, 600).value  # noqa: B018
    before = redis_commands.counts(redis_client)

    result = CacheInvalidator.invalidate_model(product)

    issued = redis_commands.delta(before, redis_commands.counts(redis_client))
    assert issued.pop("smembers") == 1
    assert "evalsha" not in issued and "eval" not in issued
    assert issued.pop("unlink") >= 1
    assert result.deleted == 3
    assert not any(cache.has_key(keys.attribute_key(product, n)) for n in ("a", "b", "c"))


def reversed_key(key: str, key_prefix: str, version: int) -> str:
    return f"{key}|{version}|{key_prefix}"


def test_every_store_names_the_attribute_and_a_hit_adds_nothing(
    cache_alias: str, product: Product, redis_client: redis.Redis
) -> None:
    cache = caches[cache_alias]
    names = stored_keys.stored_key(attribute_names_key(Product), cache)
    attribute = CachedAttribute(product, "scored", lambda: 1, 600)
    assert attribute.value == 1
    assert redis_client.smembers(names) == {b"scored"}
    before = redis_commands.counts(redis_client)
    # A hit: one read, no SADD (a family that just missed reads with SET NX GET, whose
    # answer is the value when there is one).
    assert attribute.value == 1
    assert redis_commands.delta(before, redis_commands.counts(redis_client)) == {"set": 1}
    # A Redis restarted empty lost the set with the keys; the next store names it again,
    # whichever process made it before.
    redis_client.flushdb()
    assert attribute.value == 1
    assert redis_client.smembers(names) == {b"scored"}
    assert attribute.refresh() == 1
    assert redis_client.smembers(names) == {b"scored"}


def test_many_rows_stay_one_round_trip_in_bounded_scripts(
    product: Product, settings: Any, round_trips: list[int], redis_client: redis.Redis
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 64}
    rows = Product.objects.bulk_create(
        Product(name=f"p{n}", slug=f"p-{n}", category=product.category) for n in range(200)
    )
    for row in rows:
        CachedAttribute(row, "score", lambda: 1, 600).value  # noqa: B018
    CacheInvalidator.invalidate_model(product)  # warm connection, loaded script
    before = redis_commands.calls(redis_client, "evalsha")
    me = threading.get_ident()
    round_trips.clear()

    result = CacheInvalidator.invalidate_pks(Product, [row.pk for row in rows])

    assert round_trips.count(me) == 1
    assert result.deleted == 200
    assert redis_commands.calls(redis_client, "evalsha") - before > 1  # several bounded calls
    assert not any(
        redis_client.exists(stored_keys.stored_key(keys.attribute_key(row, "score")))
        for row in rows
    )
