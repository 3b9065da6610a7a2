"""The per-process memo of list keys (``caching.shapes``): a remembered key is the key the
long way gives, different lists never share one, and every process finds the same key for
the same list whatever order it met the names of its queries in (C4)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db.models import F, QuerySet

from cache_admin import CachePattern
from cache_admin.caching import lists, shapes
from tests import django_child
from tests.testapp.models import Product

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]

Case = Callable[[], tuple[QuerySet[Any], dict[str, Any] | None, Any, Any]]


def active() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True)


# Lists that differ in one thing each (a value, a lookup, a type of value whose hash and
# equality match another's, the order, the shape of the rows, the page), built afresh on
# every call as a view builds them.
CASES: list[Case] = [
    lambda: (active(), None, None, None),
    lambda: (Product.objects.all(), None, None, None),
    lambda: (active().filter(category_id=1), {"c": 1}, 1, 10),
    lambda: (active().filter(category_id=2), {"c": 1}, 1, 10),
    lambda: (active().filter(category_id=1), {"c": 1}, 2, 10),
    lambda: (active().filter(category_id=1), {"c": 1}, 1, 20),
    lambda: (active().filter(category_id=1), {"c": 2}, 1, 10),
    lambda: (active().filter(category__slug="1"), {"c": 1}, 1, 10),
    lambda: (active().filter(price__gte=Decimal("1.5")), None, None, None),
    lambda: (active().filter(price__gte=Decimal("1.25")), None, None, None),
    lambda: (active().filter(price__gt=Decimal("1.5")), None, None, None),
    lambda: (active().exclude(price__gte=Decimal("1.5")), None, None, None),
    lambda: (active().filter(name=1), None, None, None),
    lambda: (active().filter(name=True), None, None, None),
    lambda: (active().filter(price__gte=F("id")), None, None, None),
    lambda: (active().order_by("-price", "pk"), None, None, None),
    lambda: (active().order_by("price", "pk"), None, None, None),
    lambda: (active().select_related("category"), None, None, None),
    lambda: (active().values("id"), None, None, None),
    lambda: (active().values_list("id"), None, None, None),
    lambda: (active().values_list("id", flat=True), None, None, None),
]


def memo_keys(order: list[int]) -> dict[int, str]:
    """Each case's key from the memo (the second call), checked against the long way."""
    found = {}
    for _ in range(2):
        for index in order:
            queryset, filters, page, per_page = CASES[index]()
            key, _ = lists._key_and_generations(queryset, filters, page, per_page)
            queryset, filters, page, per_page = CASES[index]()
            assert key == CachePattern.list_key(queryset, filters, page, per_page), index
            found[index] = key
    return found


def test_remembered_keys_are_the_long_ways_and_lists_never_share_one(cache_alias: str) -> None:
    lists._memo.clear()
    found = memo_keys(list(range(len(CASES))))
    assert len(set(found.values())) == len(CASES)
    # Once every name is known, each list is read from the memo: nothing more is stored.
    remembered = dict(lists._memo)
    assert memo_keys(list(range(len(CASES)))) == found
    assert lists._memo == remembered


def test_known_names_are_written_as_references(cache_alias: str) -> None:
    state = (active().select_related("category").filter(category_id=1).query, "default")
    first = shapes.learn(state)
    assert first is not None and first == shapes.fingerprint(state)
    full = pickle.dumps(state, pickle.HIGHEST_PROTOCOL)
    # Classes by module and name, fields by a function and three strings.
    for name in (b"tests.testapp.models", b"_load_field", b"django.db.models.sql.query"):
        assert name in full and name not in first
    assert len(first) < len(full)


def test_unpicklable_state_has_no_fingerprint() -> None:
    state = (lambda: None,)
    assert shapes.fingerprint(state) is None and shapes.learn(state) is None


def test_every_process_finds_the_same_keys(cache_alias: str) -> None:
    # The child meets the cases in the other order, so its table of names is in another
    # order and its fingerprints differ from these; the keys must not.
    here = memo_keys(list(range(len(CASES))))
    code = django_child.SETUP + (
        "from tests.test_caching_list_shapes import CASES, memo_keys\n"
        "found = memo_keys(list(reversed(range(len(CASES)))))\n"
        "print('\\n'.join(found[index] for index in range(len(CASES))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=django_child.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [here[index] for index in range(len(CASES))]
