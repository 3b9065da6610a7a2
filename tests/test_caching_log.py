from __future__ import annotations

import logging
from typing import Any

import pytest

from cache_admin import cache_result


def test_hits_and_misses_are_logged_when_sampled(
    cache_alias: str, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "LOG_SAMPLE_RATE": 1.0}

    @cache_result(timeout=60, key_prefix="product")
    def product(pk: int) -> int:
        return pk

    with caplog.at_level(logging.DEBUG, logger="cache"):
        product(1), product(1)
    assert [r.getMessage() for r in caplog.records if r.name == "cache"] == [
        "Cache MISS: product:1",
        "Cache HIT: product:1",
    ]


def test_nothing_is_logged_at_rate_zero_or_above_debug(
    cache_alias: str, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    @cache_result(timeout=60, key_prefix="product")
    def product(pk: int) -> int:
        return pk

    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "LOG_SAMPLE_RATE": 0}
    with caplog.at_level(logging.DEBUG, logger="cache"):
        product(1), product(1)
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "LOG_SAMPLE_RATE": 1.0}
    with caplog.at_level(logging.INFO, logger="cache"):
        product(2), product(2)
    assert [r for r in caplog.records if r.name == "cache"] == []
