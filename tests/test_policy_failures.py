"""The TTL policy when its database read or Redis fails: the last known policy stays, and
what was missed is read or announced once they answer again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from cache_admin import policy, policy_channel
from cache_admin.breaker import breaker_for
from cache_admin.models import TTLOverride
from tests.policy_support import listener_stopped


@pytest.fixture
def quiet_listener() -> Iterator[None]:
    """The listener's steps, run by the test alone (request it after a database fixture)."""
    with listener_stopped():
        yield


@pytest.fixture
def broken_table(transactional_db: None) -> Iterator[Callable[[], None]]:
    table = TTLOverride._meta.db_table
    broken = False

    def break_it() -> None:
        nonlocal broken
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_gone"')
        broken = True

    yield break_it
    if broken:
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER TABLE "{table}_gone" RENAME TO "{table}"')


def test_a_failing_read_keeps_the_last_known_policy(
    broken_table: Callable[[], None], quiet_listener: None
) -> None:
    TTLOverride.objects.create(cache_type="product_detail", ttl=120)
    TTLOverride.objects.create(cache_type="cart", ttl=30)
    assert policy.reload() is True
    assert policy.overrides() == {"product_detail": 120, "cart": 30}
    broken_table()
    with pytest.raises(Exception, match="no such table"):
        TTLOverride.objects.count()

    assert policy.reload() is False
    assert policy.overrides() == {"product_detail": 120, "cart": 30}
    # The listener's path: told of a change, the read fails, nothing is reset.
    assert policy.refresh(changed=True) is False
    assert policy.ttl_for("product_detail", jitter=False) == 120
    assert policy.ttl_for("cart", jitter=False) == 30


def test_the_listener_retries_after_a_failed_read(
    broken_table: Callable[[], None], quiet_listener: None
) -> None:
    TTLOverride.objects.create(cache_type="cart", ttl=30)
    assert policy.reload() is True
    assert policy.overrides() == {"cart": 30}
    broken_table()
    assert policy.refresh(changed=True) is False
    assert policy.overrides() == {"cart": 30}
    table = TTLOverride._meta.db_table
    with connection.cursor() as cursor:  # repaired, and changed while it was broken
        cursor.execute(f'ALTER TABLE "{table}_gone" RENAME TO "{table}"')
        cursor.execute(f'UPDATE "{table}" SET ttl = 31')
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_gone"')
    # The change it could not act on stays owed until a read succeeds.
    assert policy.refresh(changed=False) is False
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{table}_gone" RENAME TO "{table}"')
    assert policy.refresh(changed=False) is True
    assert policy.overrides() == {"cart": 31}
    assert policy.refresh(changed=False) is False
    with connection.cursor() as cursor:  # the fixture renames it back
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_gone"')


def test_an_unreachable_redis_does_not_reset_the_policy(
    db: None, django_capture_on_commit_callbacks: Callable[..., Any], settings: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        TTLOverride.objects.create(cache_type="cart", ttl=30)
    unreachable = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "KEY_PREFIX": "testsite",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    with override_settings(CACHES=unreachable):
        subscription = policy_channel.Subscription()
        assert subscription.wait(0.2, time.sleep) is False  # no subscription, no error
        subscription.close()
        policy.notify_changed()  # reloads here; the announcement is owed
        assert policy_channel.flush_unsent() is False
        assert policy.refresh(changed=True) is True
        assert policy.ttl_for("cart", jitter=False) == 30
    breaker_for("default").reset()
    assert policy_channel.flush_unsent() is True  # Redis is back: sent
