"""The policy's cross-process listener: an override saved in one process reaches the
others, also after a lost or silently dead connection or an announcement Redis missed,
and the listener itself reads and writes no key."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from cache_admin import policy, policy_channel
from cache_admin.breaker import breaker_for
from cache_admin.conf import conf
from cache_admin.models import TTLOverride
from tests import django_child, redis_commands
from tests.policy_support import listener_stopped

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def quiet_listener() -> Iterator[None]:
    """The listener's steps, run by the test alone (request it after a database fixture)."""
    with listener_stopped():
        yield


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
