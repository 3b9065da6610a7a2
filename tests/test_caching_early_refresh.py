"""Probabilistic early refresh (XFetch): off by default, refreshes ahead of expiry when on."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from cache_admin import backend, cache_result, stored_keys
from cache_admin.caching import early, fill


def test_decision_grows_with_compute_time_and_nearness_of_expiry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slot = fill.Slot("reco:1", family="reco", early_refresh=1.0)
    monkeypatch.setitem(early.durations, "reco", 0.5)  # half a second to compute
    monkeypatch.setattr(early.random, "random", lambda: 1 - 0.5)  # -ln(U) = ln 2 = 0.69
    assert early.should_refresh(slot, pttl=300) is True  # 0.35 s >= 0.3 s left
    assert early.should_refresh(slot, pttl=400) is False  # 0.35 s < 0.4 s left
    assert early.should_refresh(fill.Slot("reco:1", family="reco", early_refresh=2.0), 400)
    # Never before a compute time was measured in this process.
    assert not early.should_refresh(fill.Slot("other:1", family="other", early_refresh=1.0), 1)


def test_off_by_default_and_a_hit_stays_one_get(cache_alias: str) -> None:
    @cache_result(timeout=60, key_prefix="plain")
    def plain(n: int) -> int:
        return n

    plain(1)
    assert "plain" not in early.durations


def test_early_refresh_replaces_the_value_without_a_gap(
    cache_alias: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = {"v": "old"}
    seen_during_compute: list[Any] = []
    stored = stored_keys.stored_key("reco:1")

    @cache_result(timeout=600, key_prefix="reco", early_refresh=1.0)
    def reco(pk: int) -> str:
        # While the early refresh computes, other readers still find the old value.
        seen_during_compute.append(redis_client.get(stored))
        return source["v"]

    assert reco(1) == "old"
    source["v"] = "new"
    monkeypatch.setattr(early, "should_refresh", lambda slot, pttl: True)
    assert reco(1) == "new"
    assert backend.decode(redis_client.get(stored)) == "new"
    assert 590 <= redis_client.ttl(stored) <= 600
    assert seen_during_compute[0].startswith(fill.LEASE_PREFIX)  # the first fill: a lease
    assert backend.decode(seen_during_compute[1]) == "old"  # the refresh: the old value
