"""TTL jitter: a fifth above the base by default, configurable, off at zero, and checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.checks import run_checks

from cache_admin import policy
from cache_admin.models import TTLOverride


def test_jitter_adds_up_to_a_fifth_by_default(db: None) -> None:
    seen = [policy.ttl_for("product_list") for _ in range(3000)]
    assert all(v is not None and 300 <= v <= 360 for v in seen)
    assert len(set(seen)) > 30
    assert max(v for v in seen if v is not None) > 350


@pytest.mark.parametrize("fraction", [0, 0.0])
def test_jitter_zero_disables_it(db: None, settings: Any, fraction: object) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "JITTER": fraction}
    assert {policy.ttl_for("product_list") for _ in range(500)} == {300}


@pytest.mark.parametrize("fraction", [-1, None, "0.5"])
def test_a_bad_jitter_is_reported_and_the_default_applies(
    db: None, settings: Any, fraction: object
) -> None:
    # System check E004 reports it; until it is fixed, lookups keep the default fifth.
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "JITTER": fraction}
    assert [m.id for m in run_checks() if m.id.startswith("cache_admin.")] == ["cache_admin.E004"]
    assert {policy.ttl_for("product_list") for _ in range(3000)} <= set(range(300, 361))
    assert len({policy.ttl_for("product_list") for _ in range(500)}) > 1


def test_jitter_is_configurable_and_never_below_the_base(db: None, settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "JITTER": 0.5}
    seen = [policy.ttl_for("product_list") for _ in range(3000)]
    assert min(v for v in seen if v is not None) >= 300
    assert max(v for v in seen if v is not None) > 360
    assert all(v is not None and v <= 450 for v in seen)
    assert policy.ttl_for("product_list", jitter=False) == 300
    assert policy.jittered(1) == 1  # a fifth of one second rounds to nothing


def test_jitter_applies_to_the_override(
    db: None, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        TTLOverride.objects.create(cache_type="product_list", ttl=1000)
    seen = {policy.ttl_for("product_list") for _ in range(500)}
    assert min(v for v in seen if v is not None) >= 1000
    assert max(v for v in seen if v is not None) <= 1200
    assert len(seen) > 10
