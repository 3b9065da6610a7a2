"""Honest hints: a level only from CONSOLE_MIN_SAMPLE lookups, no hint that what just
happened contradicts (a warm run that just ended, a bulk load's invalidations)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.utils import timezone

from cache_admin import counter_flush, counters, stats, stored_keys
from cache_admin.counters import Counts
from cache_admin.models import WarmRun
from cache_admin.stats import hints
from cache_admin.stats.hints import FEW, TypeFigures, type_hints
from cache_admin.stats.server import ServerStatus

POOR = Counts(hits=10, misses=90)
NOW = timezone.now()


def figures(*minutes: Counts, last_warm: Any = None) -> TypeFigures:
    return TypeFigures(effective_ttl=300, minutes=minutes, last_warm=last_warm)


def test_a_rate_is_judged_from_the_minimum_sample_on(settings: Any) -> None:
    assert hints.level(Counts(hits=0, misses=99)) == FEW
    assert hints.level(Counts(hits=0, misses=100)) == "poor"
    assert hints.level(Counts()) is None
    assert hints.level(None) is None
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CONSOLE_MIN_SAMPLE": 10}
    assert hints.level(Counts(hits=0, misses=10)) == "poor"


def test_the_server_rate_is_judged_only_with_the_sites_own_lookups() -> None:
    # INFO counts every client, this console's reads too: a fresh site reads 2.5 %.
    fresh = ServerStatus(connected=True, keyspace_hits=1, keyspace_misses=39)
    assert hints.server_level(fresh, site_lookups=0) == FEW
    busy = ServerStatus(connected=True, keyspace_hits=25, keyspace_misses=975)
    assert hints.server_level(busy, site_lookups=99) == FEW
    assert hints.server_level(busy, site_lookups=100) == "poor"
    assert hints.server_level(ServerStatus(connected=True), site_lookups=500) is None


def test_hints_only_for_a_poor_rate_on_the_minimum_sample() -> None:
    assert type_hints(figures(Counts(hits=1, misses=9)), NOW) == ()  # 10 lookups: too few
    assert type_hints(figures(Counts(hits=95, misses=5)), NOW) == ()  # on target
    found = type_hints(figures(POOR), NOW)
    assert any("effective TTL is 300 s" in hint for hint in found)
    assert any("warm_cache --all" in hint for hint in found)


def test_no_warm_hint_when_a_warm_run_just_ended() -> None:
    just_now = type_hints(figures(POOR, last_warm=NOW - timedelta(minutes=2)), NOW)
    assert not any("warm_cache" in hint for hint in just_now)
    long_ago = type_hints(figures(POOR, last_warm=NOW - timedelta(hours=2)), NOW)
    assert any("warm_cache --all" in hint for hint in long_ago)


def test_a_bulk_loads_invalidations_are_not_compared_with_fills() -> None:
    # A seed: 15,000 invalidations while nobody read the type, then warming and traffic.
    seed = Counts(invalidations=15000)
    quiet = Counts()
    traffic = Counts(hits=10, misses=90, fills=90)
    found = type_hints(figures(seed, quiet, traffic), NOW)
    assert not any("invalidations against" in hint for hint in found)
    assert any("Review the invalidation logic" in hint for hint in found)
    assert figures(seed, quiet).churn == Counts()  # no traffic yet: nothing to compare
    # Invalidations while the type is read: compared.
    churn = Counts(hits=10, misses=90, fills=90, invalidations=80)
    found = type_hints(figures(seed, traffic, churn), NOW)
    assert any("80 invalidations against 180 fills" in hint for hint in found)


def _past_minute(
    redis_client: redis.Redis, minutes_ago: int, type_name: str, **events: int
) -> None:
    """Counts filed under an earlier minute, as the flush of a process back then left them."""
    minute = int(time.time()) // 60 - minutes_ago
    key = stored_keys.stored_key(counter_flush.stats_key(minute))
    for event, n in events.items():
        redis_client.hincrby(key, f"{type_name}:{event}", n)
    redis_client.expire(key, 3600)


@pytest.mark.django_db
def test_the_dashboard_rows_read_warm_runs_and_minutes(redis_client: redis.Redis) -> None:
    _past_minute(redis_client, 20, "cart", invalidations=15000)  # the seed
    counters.record("cart", "hits", 10)
    counters.record("cart", "misses", 90)
    counters.record("cart", "fills", 90)
    counters.flush()

    cart = {row.name: row for row in stats.type_rows()}["cart"]
    assert cart.level == "poor"
    assert cart.hour is not None and cart.hour.invalidations == 15000
    assert not any("invalidations against" in hint for hint in cart.hints)
    assert any("warm_cache --all" in hint for hint in cart.hints)

    WarmRun.objects.create(
        warmer="products",
        status=WarmRun.SUCCEEDED,
        finished_at=timezone.now() - timedelta(seconds=30),
    )
    cart = {row.name: row for row in stats.type_rows()}["cart"]
    assert cart.hints and not any("warm_cache" in hint for hint in cart.hints)


def test_hints_follow_the_reason_most_misses_had() -> None:
    invalidated = Counts(hits=10, misses=90, invalidated=80, absent=10)
    found = type_hints(figures(invalidated), NOW)
    assert "80 of the 90 misses" in found[0] and "list_scopes" in found[0]
    # Right after a warm run and with misses explained by invalidation: no warm hint.
    assert not any("warm_cache" in hint for hint in found)
    absent = type_hints(figures(Counts(hits=10, misses=90, absent=90)), NOW)
    assert absent[0].startswith("90 of the 90 misses (100%) found nothing under the key")
    assert any("effective TTL is 300 s" in hint for hint in absent)
    waits = type_hints(figures(Counts(hits=10, misses=90, lease_wait=50, absent=40)), NOW)
    assert "waited for another process" in waits[0] and "LEASE_WAIT" in waits[0]
    assert "found nothing under the key" in waits[1]
    # A project's own counters.record(type, "misses") tells no reason: the usual hints.
    untold = type_hints(figures(POOR), NOW)
    assert any("effective TTL" in hint for hint in untold)
    assert hints.miss_reasons(POOR) == []
    # And under the minimum sample, whatever the reasons, nothing.
    assert type_hints(figures(Counts(hits=1, misses=9, invalidated=9)), NOW) == ()


def test_misses_by_reason_are_shares_of_every_miss() -> None:
    shares = hints.miss_reasons(Counts(hits=0, misses=10, absent=5, invalidated=3))
    assert [(s.reason, s.count, s.percent) for s in shares] == [
        ("absent", 5, 50.0),
        ("invalidated", 3, 30.0),
        (hints.UNEXPLAINED, 2, 20.0),
    ]


def test_an_unknown_reason_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown miss reason 'stale'"):
        counters.miss("product_list", "stale")
