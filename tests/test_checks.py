"""System checks on the configured alias, the cache types, the admin site and CACHE_ADMIN
itself (E001-E003, E025, E035, W002); the test configuration passes them all."""

from __future__ import annotations

from typing import Any

import pytest

from cache_admin import cache_result
from cache_admin.conf import conf
from cache_admin.console.site import configured_site
from tests.checks_support import _ids, _set


def test_the_test_configuration_is_clean(db: None) -> None:
    assert _ids(databases=["default"]) == []


@pytest.mark.parametrize("alias", ["default", "builtin"])
def test_both_redis_backends_pass(settings: Any, alias: str) -> None:
    _set(settings, CACHE_ALIAS=alias)
    assert _ids() == []


def test_e001_alias_missing(settings: Any) -> None:
    _set(settings, CACHE_ALIAS="nowhere")
    [(found, msg)] = _ids()
    assert found == "cache_admin.E001"
    assert "no alias 'nowhere'" in msg


@pytest.mark.parametrize("alias", ["nowhere", "locmem"])
def test_e001_an_unusable_alias_serves_uncached(settings: Any, alias: str) -> None:
    _set(settings, CACHE_ALIAS=alias)
    calls = []

    @cache_result(timeout=60, key_prefix="no_cache")
    def answer() -> int:
        calls.append(1)
        return 42

    assert [answer(), answer()] == [42, 42]
    assert calls == [1, 1]


def test_e001_alias_not_redis(settings: Any) -> None:
    _set(settings, CACHE_ALIAS="locmem")
    [(found, msg)] = _ids()
    assert found == "cache_admin.E001"
    assert "LocMemCache, not Redis" in msg


@pytest.mark.parametrize(
    ("types", "fragment"),
    [
        ({"bad name": {"prefix": "x:", "ttl": 1}}, "must be an identifier"),
        ({"t": {"prefix": "", "ttl": 1}}, "'prefix' must be a non-empty string"),
        ({"t": {"ttl": 1}}, "'prefix' must be a non-empty string"),
        ({"t": {"prefix": "x:", "ttl": 0}}, "'ttl' must be whole seconds"),
        ({"t": {"prefix": "x:", "ttl": 1.5}}, "'ttl' must be whole seconds"),
        ({"t": {"prefix": "x:", "ttl": True}}, "'ttl' must be whole seconds"),
        ({"t": {"prefix": "x:", "ttl": 31 * 24 * 3600}}, "'ttl' must be whole seconds"),
        ({"t": {"prefix": "x:", "ttl": 5, "label": 3}}, "'label' must be a string"),
        ({"t": "x:"}, "must be a dict"),
        (["not", "a", "dict"], "it must be a dict of"),
    ],
)
def test_e002_invalid_types_entry(settings: Any, types: object, fragment: str) -> None:
    _set(settings, TYPES=types)
    [(found, msg)] = _ids()
    assert found == "cache_admin.E002"
    assert fragment in msg


def test_e003_duplicate_prefixes(settings: Any) -> None:
    _set(
        settings,
        TYPES={
            "product_detail": {"prefix": "product:", "ttl": 900},
            "item": {"prefix": "product:", "ttl": 60},
        },
    )
    [(found, msg)] = _ids()
    assert found == "cache_admin.E003"
    assert "'product_detail' and 'item' share the prefix 'product:'" in msg


def test_e025_admin_site_path_that_does_not_import(settings: Any) -> None:
    _set(settings, ADMIN_SITE="tests.nowhere.site")
    [(found, msg)] = _ids()
    assert found == "cache_admin.E025"
    assert "'tests.nowhere.site' cannot be imported" in msg
    assert configured_site() is None  # start-up goes on without the console; E025 says why
    _set(settings, ADMIN_SITE="tests.settings.CACHE_ADMIN")
    [(found, msg)] = _ids()
    assert (found, msg) == (
        "cache_admin.E025",
        "CACHE_ADMIN['ADMIN_SITE'] 'tests.settings.CACHE_ADMIN' is a dict, not an AdminSite.",
    )


def test_e025_an_admin_site_instance_is_accepted(settings: Any) -> None:
    from django.contrib.admin import site

    _set(settings, ADMIN_SITE=site)
    assert _ids() == []
    assert conf.ADMIN_SITE is site


def test_e035_cache_admin_not_a_dict(settings: Any) -> None:
    settings.CACHE_ADMIN = [("JITTER", 0.5)]
    [(found, msg)] = _ids()
    assert (found, msg) == (
        "cache_admin.E035",
        "CACHE_ADMIN is list; it must be a dict of settings.",
    )
    assert conf.JITTER == 0.2


@pytest.mark.parametrize("empty", [None, {}])
def test_an_empty_cache_admin_means_every_default(settings: Any, empty: object) -> None:
    settings.CACHE_ADMIN = empty
    assert conf.TYPES == {}
    assert conf.JITTER == 0.2
    assert _ids() == []


def test_w002_unknown_setting(settings: Any) -> None:
    _set(settings, JITER=0.1)
    [(found, msg)] = _ids()
    assert found == "cache_admin.W002"
    assert "'JITER'" in msg
