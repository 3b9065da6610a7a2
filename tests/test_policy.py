from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.checks import run_checks
from django.db import connection
from django.test import override_settings

from cache_admin import policy, policy_channel
from cache_admin.breaker import breaker_for
from cache_admin.conf import conf
from cache_admin.models import TTLOverride
from cache_admin.types import get_type
from tests import django_child, redis_commands
from tests.forking import fork_and_run

ROOT = Path(__file__).resolve().parents[1]


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


def _keyspace(client: redis.Redis) -> tuple[int, int, int]:
    """Lookups counted in INFO (hits + misses), writes since the last save, and calls of
    commands that read or write a key (all but pub/sub and connection commands)."""
    info = client.info()
    keyed = sum(
        count
        for name, count in redis_commands.counts(client).items()
        if name not in redis_commands.HANDSHAKE | {"info", "publish", "subscribe", "pubsub|numsub"}
    )
    return (
        int(info["keyspace_hits"]) + int(info["keyspace_misses"]),
        int(info["rdb_changes_since_last_save"]),
        keyed,
    )


def _wait_until(condition: Callable[[], bool], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_the_listener_reads_and_writes_no_key(db: None, redis_client: redis.Redis) -> None:
    """The server's hit rate stays the site's own, and nothing is replicated or appended
    to the AOF while no one changes a TTL (the listener only SUBSCRIBEs and PINGs)."""
    policy.overrides()  # the listener runs
    channel = policy_channel.channel()
    assert _wait_until(lambda: redis_client.pubsub_numsub(channel)[0][1] >= 1)
    before = _keyspace(redis_client)
    pings = redis_commands.calls(redis_client, "ping")
    # Several of the listener's liveness checks (one per POLICY_POLL_INTERVAL)...
    assert _wait_until(lambda: redis_commands.calls(redis_client, "ping") >= pings + 3)
    policy.notify_changed()  # ...and an announcement (PUBLISH)
    after = _keyspace(redis_client)
    assert after == before


@pytest.fixture
def quiet_listener() -> Iterator[None]:
    """The listener's steps, run by the test alone: the live listener is stopped (request
    it after a database fixture: stopping waits for the listener's first read)."""
    policy.overrides()  # started in this process, so that a lookup does not restart it
    policy.listener.stop(timeout=10)
    assert not policy.listener.running
    yield
    policy.listener.start()


@pytest.fixture
def child_policy(transactional_db: None) -> Iterator[Callable[[str], str]]:
    """A second Python process on the same settings, Redis and test database."""
    code = django_child.SETUP + (
        "from cache_admin.policy import ttl_for\n"
        "for line in sys.stdin:\n"
        "    print(ttl_for(line.strip(), jitter=False), flush=True)\n"
    )
    env = django_child.env()
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def ask(name: str) -> str:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(name + "\n")
        child.stdin.flush()
        return child.stdout.readline().strip()

    try:
        yield ask
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _wait_for(ask: Callable[[str], str], name: str, wanted: str, within: float) -> str:
    deadline = time.monotonic() + within
    seen = ask(name)
    while seen != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = ask(name)
    return seen


def test_an_override_reaches_another_process(child_policy: Callable[[str], str]) -> None:
    _an_override_reaches(child_policy)


def test_an_override_reaches_another_process_on_a_cluster(
    cluster_alias: str, child_policy: Callable[[str], str]
) -> None:
    # Each process subscribes on a random primary; the PUBLISH reaches every node.
    _an_override_reaches(child_policy)


def _an_override_reaches(child_policy: Callable[[str], str]) -> None:
    # POLICY_RELOAD_INTERVAL is an hour in the test settings: only the announcement
    # published on commit can bring the change over within the wait below.
    assert conf.POLICY_RELOAD_INTERVAL >= 3600
    assert child_policy("product_detail") == "900"
    row = TTLOverride.objects.create(cache_type="product_detail", ttl=120)
    assert _wait_for(child_policy, "product_detail", "120", within=10) == "120"
    row.ttl = 45
    row.save()
    assert _wait_for(child_policy, "product_detail", "45", within=10) == "45"
    row.delete()
    assert _wait_for(child_policy, "product_detail", "900", within=10) == "900"


def _both_subscribed(client: redis.Redis) -> None:
    """This process's listener and the child's are subscribed (so the child has loaded)."""
    policy.overrides()
    channel = policy_channel.channel()
    assert _wait_until(lambda: client.pubsub_numsub(channel)[0][1] >= 2)


def _unannounced_change() -> None:
    # bulk_create sends no signal: nothing is published, as if the message were lost.
    TTLOverride.objects.bulk_create([TTLOverride(cache_type="cart", ttl=77)])


def test_a_lost_connection_rereads_what_it_may_have_missed(
    child_policy: Callable[[str], str], redis_client: redis.Redis
) -> None:
    assert child_policy("cart") == "1800"
    _both_subscribed(redis_client)
    _unannounced_change()
    assert child_policy("cart") == "1800"  # nothing told it
    assert redis_client.client_kill_filter(_type="pubsub") >= 2
    assert _wait_for(child_policy, "cart", "77", within=10) == "77"


def test_a_silently_dead_connection_is_found_by_its_ping(
    child_policy: Callable[[str], str], redis_client: redis.Redis
) -> None:
    assert child_policy("cart") == "1800"
    _both_subscribed(redis_client)
    # The server answers no one for three seconds, as a peer gone without a reset: the
    # connection stays open, and only the listener's unanswered PING can tell.
    redis_client.client_pause(3000)
    _unannounced_change()
    assert _wait_for(child_policy, "cart", "77", within=20) == "77"


def test_an_announcement_redis_missed_is_sent_once_it_answers(
    child_policy: Callable[[str], str], redis_client: redis.Redis, quiet_listener: None
) -> None:
    assert child_policy("cart") == "1800"
    channel = policy_channel.channel()
    assert _wait_until(lambda: redis_client.pubsub_numsub(channel)[0][1] >= 1)
    breaker = breaker_for("default")
    for _ in range(int(conf.BREAKER_THRESHOLD)):
        breaker.failure(None)
    TTLOverride.objects.create(cache_type="cart", ttl=66)  # committed: announced, or owed
    assert policy.ttl_for("cart", jitter=False) == 66
    assert child_policy("cart") == "1800"  # not told: the breaker held the announcement
    breaker.reset()
    policy.listener.start()  # its loop sends what is owed
    assert _wait_for(child_policy, "cart", "66", within=10) == "66"


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


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_runs_its_own_listener_even_if_a_lock_was_held(
    transactional_db: None,
) -> None:
    TTLOverride.objects.create(cache_type="cart", ttl=77)
    assert policy.ttl_for("cart", jitter=False) == 77
    parent_thread = policy.listener.thread
    held, release = threading.Event(), threading.Event()
    locks = [
        policy._snapshot.start_lock,
        policy._snapshot.reload_lock,
        breaker_for("default")._lock,
    ]

    def hold() -> None:
        for lock in locks:
            lock.acquire()
        held.set()
        release.wait()
        for lock in locks:
            lock.release()

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()

    def child() -> bytes:
        ttl = policy.ttl_for("cart", jitter=False)
        breaker = breaker_for("default")
        breaker.failure(None)  # takes the breaker's lock
        breaker.reset()
        allowed = breaker.allow()
        thread = policy.listener.thread
        fresh = thread is not None and thread is not parent_thread and thread.is_alive()
        return f"{ttl} {allowed} {fresh}".encode()

    try:
        out = fork_and_run(child)
    finally:
        release.set()
        holder.join()
    assert out == b"77 True True"


def test_a_reset_never_loses_to_a_reload_in_flight(
    transactional_db: None, quiet_listener: None
) -> None:
    TTLOverride.objects.create(cache_type="cart", ttl=30)
    assert policy.overrides() == {"cart": 30}
    reading, go = threading.Event(), threading.Event()

    def hold(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        reading.set()
        go.wait()
        return execute(sql, params, many, context)

    def slow_reload() -> None:
        from django.db import connection as thread_connection

        try:
            with thread_connection.execute_wrapper(hold):
                policy.reload()
        finally:
            thread_connection.close()

    reloader = threading.Thread(target=slow_reload)
    reloader.start()
    reading.wait()  # the reload has read nothing yet and publishes after its query
    resetter = threading.Thread(target=policy.reset_for_tests)
    resetter.start()
    resetter.join(0.5)  # without the lock the reset would be over by now
    go.set()
    reloader.join()
    resetter.join()
    # The reset came second, so it wins: a reload that began before it never undoes it.
    assert policy._snapshot.overrides == {}
