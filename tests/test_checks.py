from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import CheckMessage, run_checks

from cache_admin.models import TTLOverride


def _ids(databases: list[str] | None = None) -> list[tuple[str, str]]:
    messages: list[CheckMessage] = run_checks(databases=databases)
    return [(str(m.id), m.msg) for m in messages if str(m.id).startswith("cache_admin.")]


def _set(settings: Any, **values: object) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, **values}


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
        (["not", "a", "dict"], "must be a dict of"),
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


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JITTER", 1.5),
        ("JITTER", -0.1),
        ("JITTER", "0.2"),
        ("POLICY_POLL_INTERVAL", 0),
        ("SCAN_COUNT", None),
        ("BREAKER_THRESHOLD", True),
        ("WARM_RUN_HISTORY", 0),
        ("OUTBOX_ADOPT_INTERVAL", -1),
        ("OUTBOX_RETRY_INTERVAL", "5"),
    ],
)
def test_e004_numeric_setting_out_of_range(settings: Any, name: str, value: object) -> None:
    _set(settings, **{name: value})
    [(found, msg)] = _ids()
    assert found == "cache_admin.E004"
    assert f"CACHE_ADMIN[{name!r}] is {value!r}" in msg


def test_w001_override_for_unknown_type(db: None) -> None:
    # Written around the model's validation, as an old row would be after a type is removed.
    TTLOverride.objects.create(cache_type="gone_type", ttl=60)
    TTLOverride.objects.create(cache_type="cart", ttl=60)
    assert _ids() == []  # database checks run only when asked for
    [(found, msg)] = _ids(databases=["default"])
    assert found == "cache_admin.W001"
    assert "'gone_type'" in msg


def test_w002_unknown_setting(settings: Any) -> None:
    _set(settings, JITER=0.1)
    [(found, msg)] = _ids()
    assert found == "cache_admin.W002"
    assert "'JITER'" in msg
