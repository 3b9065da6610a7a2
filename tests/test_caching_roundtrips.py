"""P1: a hit is one Redis command in one round trip; statistics add no round trip per call.

Commands are counted on the server: INFO commandstats deltas, and MONITOR to see exactly
which commands a single hit sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from cache_admin import CachePattern, backend, cache_queryset, cache_result, counters
from tests import redis_commands
from tests.testapp.models import Category, Product

MARK = "cache-admin-test-marker"


@pytest.fixture
def monitored(redis_url: str) -> Iterator[Callable[[Callable[[], Any]], list[str]]]:
    """``monitored(action)`` runs action and returns the commands Redis received meanwhile."""
    clients: list[redis.Redis] = []

    def run(action: Callable[[], Any]) -> list[str]:
        watcher = redis.Redis.from_url(f"{redis_url}/0")
        marker = redis.Redis.from_url(f"{redis_url}/0")
        clients.extend([watcher, marker])
        seen: list[str] = []
        started = threading.Event()

        def listen() -> None:
            recording = False
            with watcher.monitor() as monitor:
                started.set()
                for event in monitor.listen():
                    command = str(event["command"])
                    if command.endswith(f"{MARK}-start"):
                        recording = True
                    elif command.endswith(f"{MARK}-end"):
                        return
                    elif recording:
                        seen.append(command)

        thread = threading.Thread(target=listen)
        thread.start()
        assert started.wait(10)
        # MONITOR is on (its OK was read before started); record from this marker on.
        marker.echo(f"{MARK}-start")
        action()
        marker.echo(f"{MARK}-end")
        thread.join(10)
        assert not thread.is_alive()
        # The policy listener (its subscription and PINGs) and the counters thread run on
        # their own schedules (the flushes are counted in
        # test_thousand_hits_cost_a_handful_of_counter_commands), and open connections of
        # their own (the handshake).
        background = ("cache_admin:policy:changed", "cache_admin:stats:")
        return [
            c
            for c in seen
            if not any(name in c for name in background)
            and redis_commands.name_of(c) not in redis_commands.HANDSHAKE
        ]

    yield run
    for client in clients:
        client.close()


def test_a_hit_is_one_get(cache_alias: str, monitored: Any) -> None:
    @cache_result(timeout=60, key_prefix="user_profile")
    def profile(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    profile(1)
    commands = monitored(lambda: profile(1))
    assert commands == [f"GET {backend.stored_key('user_profile:1')}"]


@pytest.mark.django_db
def test_a_queryset_hit_is_one_round_trip(cache_alias: str, monitored: Any) -> None:
    Product.objects.create(name="a", slug="a", category=Category.objects.create(name="c", slug="c"))

    @cache_queryset(timeout=60, key_prefix="all_products")
    def all_products() -> QuerySet[Product]:
        return Product.objects.all()

    all_products()
    pipelines: list[int] = []
    original = redis.client.Pipeline.execute
    caller = threading.current_thread()

    def counting_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Only the caller's pipelines: the counters thread may flush its batch meanwhile.
        if threading.current_thread() is caller:
            pipelines.append(len(self.command_stack))
        return original(self, *args, **kwargs)

    redis.client.Pipeline.execute = counting_execute  # type: ignore[method-assign]
    try:
        with CaptureQueriesContext(connection) as queries:
            commands = monitored(all_products)
    finally:
        redis.client.Pipeline.execute = original  # type: ignore[method-assign]
    assert len(queries) == 0
    assert pipelines == [2]  # one round trip carrying two GETs
    assert [c.split()[0] for c in commands] == ["GET", "GET"]
    assert "cache_admin:gen:testapp.product" in commands[0]


@pytest.mark.django_db
def test_a_list_view_hit_is_one_round_trip(cache_alias: str, monitored: Any) -> None:
    CachePattern.cache_list_view(Product.objects.all(), page=1, per_page=10)
    commands = monitored(
        lambda: CachePattern.cache_list_view(Product.objects.all(), page=1, per_page=10)
    )
    assert [c.split()[0] for c in commands] == ["GET", "GET"]


def test_thousand_hits_cost_a_handful_of_counter_commands(
    cache_alias: str, redis_client: redis.Redis, settings: Any
) -> None:
    @cache_result(timeout=60, key_prefix="product")
    def product(pk: int) -> int:
        return pk

    product(1)
    counters.flush()
    before = redis_commands.counts(redis_client)
    for _ in range(1000):
        product(1)
    counters.flush()
    # Counter flushes are what this test counts; the other background traffic is not ours.
    flushes = frozenset({"hincrby", "expire"})
    changed = redis_commands.delta(
        before,
        redis_commands.counts(redis_client),
        ignore=redis_commands.BACKGROUND - flushes,
    )
    gets = changed.pop("get")
    assert 1000 <= gets <= 1010
    # Counter flushes: one pipeline per flush interval, a few commands each.
    assert set(changed) <= flushes
    assert sum(changed.values()) <= 12
    assert counters.totals()["product_detail"].hits >= 1000
