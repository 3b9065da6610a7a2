from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from cache_admin import types
from cache_admin.models import TTLOverride
from cache_admin.types import (
    CacheType,
    InvalidType,
    all_types,
    build_type,
    get_type,
    iter_types,
    register_type,
    type_for_key,
    unregister_type,
)


@pytest.fixture
def code_type() -> Iterator[CacheType]:
    found = register_type("wishlist", prefix="wish:", ttl=120)
    yield found
    unregister_type("wishlist")


def test_types_come_from_settings() -> None:
    assert get_type("product_detail") == CacheType(
        "product_detail", "Product detail", "product:", 900
    )
    assert len(all_types()) == 7
    assert [t.prefix for t in iter_types()][:3] == ["cart:", "category:", "product:"]


def test_label_defaults_to_the_name(settings: Any) -> None:
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "TYPES": {"top_sellers": {"prefix": "t:", "ttl": 9}},
    }
    assert get_type("top_sellers") == CacheType("top_sellers", "Top sellers", "t:", 9)


def test_invalid_settings_entries_are_left_out(settings: Any) -> None:
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "TYPES": {"ok": {"prefix": "ok:", "ttl": 5}, "bad": {"prefix": "bad:", "ttl": -1}},
    }
    assert list(all_types()) == ["ok"]
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "TYPES": "nonsense"}
    assert all_types() == {}


def test_types_registered_in_code(code_type: CacheType) -> None:
    assert code_type == CacheType("wishlist", "wishlist", "wish:", 120)
    assert get_type("wishlist") is code_type
    assert type_for_key("wish:user:3") is code_type
    unregister_type("wishlist")
    assert get_type("wishlist") is None
    assert type_for_key("wish:user:3") is None


def test_code_types_follow_settings_changes(code_type: CacheType, settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "TYPES": {}}
    assert list(all_types()) == ["wishlist"]


def test_the_longest_prefix_wins() -> None:
    def name(key: str) -> str | None:
        found = type_for_key(key)
        return found.name if found else None

    assert name("product:list:3f2a") == "product_list"
    assert name("product:123") == "product_detail"
    assert name("product:slug:laptop") == "product_detail"
    assert name("product") is None
    assert name("cart:user:789") == "cart"
    assert name("cache_admin:stats:total") is None
    assert name("") is None


def test_build_type_says_what_is_wrong() -> None:
    with pytest.raises(InvalidType, match="'ttl' must be whole seconds from 1 to 2592000"):
        build_type("x", {"prefix": "x:", "ttl": "300"})
    with pytest.raises(InvalidType, match="must be an identifier"):
        register_type("has-dash", prefix="x:", ttl=1)
    assert types.MAX_TTL == 2592000


@pytest.mark.django_db
def test_override_validation_refuses_unknown_types() -> None:
    with pytest.raises(ValidationError) as caught:
        TTLOverride(cache_type="no_such_type", ttl=60).full_clean()
    message = caught.value.message_dict["cache_type"][0]
    assert "Unknown cache type no_such_type" in message
    assert "product_detail" in message
    TTLOverride(cache_type="product_detail", ttl=60).full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize("ttl", [0, 2592001])
def test_override_validation_refuses_ttls_out_of_range(ttl: int) -> None:
    with pytest.raises(ValidationError) as caught:
        TTLOverride(cache_type="cart", ttl=ttl).full_clean()
    assert "ttl" in caught.value.message_dict


@pytest.mark.django_db
def test_override_validation_knows_code_types(code_type: CacheType) -> None:
    TTLOverride(cache_type="wishlist", ttl=60).full_clean()
