"""TTL policy lookups: defaults from the type registry, overrides saved here (applied at
once and announced), and no I/O per lookup."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from cache_admin import policy, policy_channel
from cache_admin.models import TTLOverride
from cache_admin.types import get_type
from tests import redis_commands


def test_defaults_come_from_the_type_registry(db: None) -> None:
    assert policy.ttl_for("product_detail", jitter=False) == 900
    assert policy.ttl_for("product_list", jitter=False) == 300
    found = get_type("category")
    assert found is not None
    assert policy.ttl_for(found, jitter=False) == 3600


def test_unknown_type_gives_the_default_ttl_setting(db: None, settings: Any) -> None:
    assert policy.ttl_for("nope") is None
    assert policy.ttl_for(None) is None
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "DEFAULT_TTL": 42, "JITTER": 0}
    assert policy.ttl_for("nope") == 42
    assert policy.ttl_for(None) == 42


@pytest.fixture
def announcements(redis_client: redis.Redis) -> Iterator[Callable[[], list[bytes]]]:
    """What is published on the policy channel from now on (a subscriber of the test's)."""
    pubsub = redis_client.pubsub()
    pubsub.subscribe(policy_channel.channel())

    def received() -> list[bytes]:
        found = []
        while (message := pubsub.get_message(timeout=0.5)) is not None:
            if message["type"] == "message":
                found.append(message["data"])
        return found

    yield received
    pubsub.close()


def test_saving_an_override_applies_here_and_announces_it(
    db: None,
    announcements: Callable[[], list[bytes]],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        TTLOverride.objects.create(cache_type="product_detail", ttl=120)
    assert policy.ttl_for("product_detail", jitter=False) == 120
    assert len(announcements()) == 1
    row = TTLOverride.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        row.ttl = 60
        row.save()
    assert policy.ttl_for("product_detail", jitter=False) == 60
    assert len(announcements()) == 1
    with django_capture_on_commit_callbacks(execute=True):
        row.delete()
    assert policy.ttl_for("product_detail", jitter=False) == 900
    assert len(announcements()) == 1
    assert [e.effective for e in policy.effective_ttls() if e.cache_type.name == "cart"] == [1800]


def test_ttl_for_does_no_io(
    transactional_db: None,
    redis_client: redis.Redis,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    TTLOverride.objects.create(cache_type="cart", ttl=99)
    assert policy.ttl_for("cart", jitter=False) == 99  # the process's first load is done
    names = ["cart", "product_detail", "product_list", "category", "nope", None]
    calls = 20_000
    before = redis_commands.counts(redis_client)
    with django_assert_num_queries(0):
        for i in range(calls):
            policy.ttl_for(names[i % len(names)])
    # Background traffic (the listener's PINGs) is left out by delta().
    # One round trip per lookup would add 20,000.
    issued = redis_commands.delta(before, redis_commands.counts(redis_client))
    assert sum(issued.values()) < calls // 100, issued
