"""P1: a hit is one Redis command in one round trip; statistics add no round trip per call.
A miss of an absent key is two round trips (the read takes the lease, the compare-and-set
stores), three in a family whose lookups mostly hit (its read is a plain GET); a list's or
queryset's miss three (its read is an MGET of the tokens and the value, which takes no
lease).

Commands are counted on the server: INFO commandstats deltas, and MONITOR to see exactly
which commands a single lookup sent; round trips are counted on the client (the
``round_trips`` fixture: one per command or pipeline redis-py sends).
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

from cache_admin import (
    CacheInvalidator,
    CachePattern,
    cache_queryset,
    cache_result,
    counters,
    stored_keys,
)
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


def trips(action: Callable[[], Any], round_trips: list[int]) -> int:
    """Round trips the calling thread made during ``action``."""
    me = threading.get_ident()
    before = round_trips.count(me)
    action()
    return round_trips.count(me) - before


def words(command: str) -> list[str]:
    """A MONITOR line's arguments without their quotes (they hold no spaces here)."""
    return [word.strip('"') for word in command.split()]


def is_read_or_lease(command: str, logical: str) -> bool:
    """SET <key> <a lease> NX GET PX <ms>: the value of a hit, the lease of a miss."""
    found = words(command)
    return (
        found[:2] == ["SET", stored_keys.stored_key(logical)]
        and found[2].startswith("N.\\x00cache_admin-lease:")
        and found[3:6] == ["NX", "GET", "PX"]
    )


def test_a_hit_is_one_command(server_alias: str, monitored: Any) -> None:
    @cache_result(timeout=60, key_prefix="user_profile")
    def profile(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    profile(1)
    [command] = monitored(lambda: profile(1))
    assert is_read_or_lease(command, "user_profile:1"), command
    # Once the family's lookups mostly hit, a hit is a plain GET: cheaper for the client.
    for _ in range(100):
        profile(1)
    [command] = monitored(lambda: profile(1))
    assert words(command) == ["GET", stored_keys.stored_key("user_profile:1")], command


def test_a_miss_is_two_round_trips(
    server_alias: str, monitored: Any, round_trips: list[int]
) -> None:
    @cache_result(timeout=60, key_prefix="user_profile")
    def profile(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    profile(0)  # the compare-and-set script is loaded once per server
    assert trips(lambda: profile(1), round_trips) == 2
    commands = monitored(lambda: profile(2))
    assert is_read_or_lease(commands[0], "user_profile:2"), commands
    assert words(commands[1])[0] == "EVALSHA"
    # The script's own GET and SET run inside that one round trip.
    assert [words(c)[0] for c in commands[2:]] == ["GET", "SET"]


def test_a_miss_of_a_family_that_mostly_hits_takes_its_lease_apart(
    server_alias: str, monitored: Any, round_trips: list[int]
) -> None:
    @cache_result(timeout=60, key_prefix="user_profile")
    def profile(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    for _ in range(100):
        profile(0)
    # GET, SET NX of the lease, the compare-and-set: a rare miss pays one round trip more.
    assert trips(lambda: profile(1), round_trips) == 3
    commands = monitored(lambda: profile(2))
    assert words(commands[0]) == ["GET", stored_keys.stored_key("user_profile:2")], commands
    lease = words(commands[1])
    assert lease[:2] == ["SET", stored_keys.stored_key("user_profile:2")] and "NX" in lease
    assert words(commands[2])[0] == "EVALSHA"


def is_enveloped_read(commands: list[str], tokens: list[str], logical: str) -> bool:
    """One MGET of the generation tokens and the entry."""
    stored = [stored_keys.stored_key(name) for name in [*tokens, logical]]
    return len(commands) == 1 and words(commands[0]) == ["MGET", *stored]


@pytest.mark.django_db
def test_a_queryset_hit_is_one_round_trip(
    server_alias: str, monitored: Any, round_trips: list[int]
) -> None:
    Product.objects.create(name="a", slug="a", category=Category.objects.create(name="c", slug="c"))

    @cache_queryset(timeout=60, key_prefix="all_products")
    def all_products() -> QuerySet[Product]:
        return Product.objects.all()

    all_products()
    with CaptureQueriesContext(connection) as queries:
        assert trips(all_products, round_trips) == 1
    assert len(queries) == 0
    commands = monitored(all_products)
    tokens = ["cache_admin:gen:testapp.product"]
    assert is_enveloped_read(commands, tokens, all_products.key_for()), commands


def products_page() -> Any:
    return CachePattern.cache_list_view(Product.objects.all(), page=1, per_page=10)


@pytest.mark.django_db
def test_a_list_view_hit_is_one_round_trip(
    server_alias: str, monitored: Any, round_trips: list[int]
) -> None:
    products_page()
    assert trips(products_page, round_trips) == 1
    commands = monitored(products_page)
    key = CachePattern.list_key(Product.objects.all(), page=1, per_page=10)
    assert is_enveloped_read(commands, ["cache_admin:gen:testapp.product"], key), commands


@pytest.mark.django_db
def test_a_list_view_miss_is_three_round_trips(server_alias: str, round_trips: list[int]) -> None:
    Product.objects.create(name="a", slug="a", category=Category.objects.create(name="c", slug="c"))
    CachePattern.cache_list_view(Product.objects.filter(pk__gt=0))  # loads the script
    # Absent: the read (tokens and value), the lease, then the compare-and-set.
    assert trips(products_page, round_trips) == 3
    assert trips(products_page, round_trips) == 1
    CacheInvalidator.invalidate_list_cache(Product)
    # Stale: the read, the lease over the stale entry, then the compare-and-set.
    assert trips(products_page, round_trips) == 3
    assert trips(products_page, round_trips) == 1


def test_thousand_hits_cost_a_handful_of_counter_commands(
    server_alias: str, redis_client: redis.Redis, settings: Any
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
    # One read each: leased (SET NX GET) until the family's share of misses falls, then GET.
    reads = changed.pop("set") + changed.pop("get")
    assert 1000 <= reads <= 1010
    assert changed.get("set", 0) == 0
    # Counter flushes: one pipeline per flush interval, a few commands each.
    assert set(changed) <= flushes
    assert sum(changed.values()) <= 12
    assert counters.totals()["product_detail"].hits >= 1000
