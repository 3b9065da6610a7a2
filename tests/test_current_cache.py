from __future__ import annotations

from typing import Any

from django.core.cache import caches

from cache_admin import current_cache


def test_current_follows_the_configured_alias(cache_alias: str) -> None:
    current = current_cache.current()
    assert current.alias == cache_alias
    assert current.cache is caches[cache_alias]
    assert current_cache.current() is current  # remembered while the settings stay the same
    assert current.stored_key("product:1") == caches[cache_alias].make_key("product:1")
    current.client.set(current.stored_key("x"), b"1")
    assert caches[cache_alias].get("x") == 1


def test_current_uses_a_custom_key_function(settings: Any) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            "KEY_FUNCTION": "tests.test_current_cache.reversed_key",
        },
    }
    assert current_cache.current().stored_key("abc") == "cba|testsite|1"


def reversed_key(key: str, key_prefix: str, version: int) -> str:
    return f"{key[::-1]}|{key_prefix}|{version}"
