from __future__ import annotations

import datetime
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from cache_admin import keys
from tests.testapp.models import Category, Product

FILTERS = {"category": "laptops", "page": 2, "price__lte": Decimal("1.50")}
# Hard-coded: a digest must not change across processes, restarts or releases (C4).
FILTERS_DIGEST = "87bd1d847eb20a7b"


def test_helpers_follow_the_spec_convention() -> None:
    product = Product(pk=123, slug="laptop")
    assert keys.detail_key(Product, 123) == "product:123"
    assert keys.detail_key(product, product.pk) == "product:123"
    assert keys.detail_key("product", "123") == "product:123"
    assert keys.slug_key(Product, "macbook-pro") == "product:slug:macbook-pro"
    assert keys.list_prefix(Product) == "product:list:"
    assert keys.list_key(Product, {"category": "laptops", "page": 2}) == (
        "product:list:17fc6929b03b4a7c"
    )
    assert keys.attribute_key(product, "related") == "product:123:related"
    assert keys.action_key("search", Product, "laptop") == "search:product:laptop"
    assert keys.action_key("search", "product", "a", 2).startswith("search:product:")
    assert keys.user_key("cart", 789) == "cart:user:789"


def test_digest_is_stable_across_processes() -> None:
    assert keys.digest(FILTERS) == FILTERS_DIGEST
    code = (
        "from decimal import Decimal\n"
        "from cache_admin.keys import digest\n"
        "print(digest({'price__lte': Decimal('1.5'), 'page': 2, 'category': 'laptops'}))\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == FILTERS_DIGEST


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        ({"price": 1.0}, {"price": 1}),
        ({"price": Decimal("1.50")}, {"price": Decimal("1.5")}),
        ({"price": Decimal("2.00")}, {"price": 2}),
        ({"ids": {3, 1, 2}}, {"ids": frozenset([2, 3, 1])}),
        ({"ids": (1, 2)}, {"ids": [1, 2]}),
        ({"on": datetime.date(2026, 1, 2)}, {"on": "2026-01-02"}),
        ({"u": uuid.UUID(int=7)}, {"u": str(uuid.UUID(int=7))}),
        ({"category": Category(pk=4)}, {"category": ["category", 4]}),
        ({1: "x"}, {"1": "x"}),
        (
            {"at": datetime.datetime(2026, 1, 2, 12, tzinfo=datetime.timezone.utc)},
            {
                "at": datetime.datetime(
                    2026, 1, 2, 13, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
                )
            },
        ),
    ],
)
def test_equal_filters_give_equal_keys(left: object, right: object) -> None:
    assert keys.digest(left) == keys.digest(right)
    assert keys.list_key(Product, left) == keys.list_key(Product, right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ({"page": 1}, {"page": 2}),
        ({"price": 1.5}, {"price": 1.25}),
        ({"a": None}, {"a": False}),
        ({"a": True}, {"a": 1}),
        ({"a": "1"}, {"a": 1}),
        ({"page": 1, "per_page": 20}, {"page": 1, "per_page": 50}),
        ({"ordering": "-price"}, {"ordering": "price"}),
        ({"p": Decimal("Infinity")}, {"p": Decimal("-Infinity")}),
        ({"p": Decimal("NaN")}, {"p": Decimal("0")}),
        ({"at": datetime.datetime(2026, 1, 2, 12)}, {"at": datetime.datetime(2026, 1, 2, 13)}),
    ],
)
def test_different_filters_give_different_keys(left: object, right: object) -> None:
    assert keys.digest(left) != keys.digest(right)


def test_parts_stay_readable_only_when_safe() -> None:
    assert keys.part(42) == "42"
    assert keys.part("laptop-15_pro.v2") == "laptop-15_pro.v2"
    hashed = [keys.part("a b"), keys.part("x" * 65), keys.part("*"), keys.part("é")]
    assert all(len(h) == 16 and h.isalnum() for h in hashed)
    assert keys.part(True) != keys.part(None) != keys.part("")
    assert keys.part("a b") != keys.part("a_b")
    # Glob characters and spaces never reach a key as they are.
    assert keys.slug_key(Product, "a*b?[c]") == f"product:slug:{keys.digest('a*b?[c]')}"


def test_unknown_objects_are_named_by_type_and_text() -> None:
    class Thing:
        def __str__(self) -> str:
            return "thing-1"

    normal = keys.normalize(Thing())
    assert isinstance(normal, str) and normal.endswith("Thing:thing-1")
    assert keys.normalize(b"\x00\xff") == "00ff"
