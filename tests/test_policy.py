from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection

from cache_admin import backend, policy
from cache_admin.breaker import breaker_for
from cache_admin.conf import conf
from cache_admin.models import TTLOverride
from cache_admin.types import get_type
from tests import redis_commands

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


def test_saving_an_override_applies_here_and_announces_a_new_version(
    db: None,
    redis_client: redis.Redis,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    version_key = backend.stored_key(conf.NAMESPACE + policy.VERSION_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        TTLOverride.objects.create(cache_type="product_detail", ttl=120)
    assert policy.ttl_for("product_detail", jitter=False) == 120
    first = redis_client.get(version_key)
    assert first
    row = TTLOverride.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        row.ttl = 60
        row.save()
    assert policy.ttl_for("product_detail", jitter=False) == 60
    second = redis_client.get(version_key)
    assert second and second != first
    with django_capture_on_commit_callbacks(execute=True):
        row.delete()
    assert policy.ttl_for("product_detail", jitter=False) == 900
    assert redis_client.get(version_key) not in (first, second)
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
    # Background traffic (the poller's version checks) is left out by delta().
    # One round trip per lookup would add 20,000.
    issued = redis_commands.delta(before, redis_commands.counts(redis_client))
    assert sum(issued.values()) < calls // 100, issued


def test_the_poller_stays_out_of_the_servers_hit_rate(db: None, redis_client: redis.Redis) -> None:
    def lookups() -> int:
        stats = redis_client.info("stats")
        return int(stats["keyspace_hits"]) + int(stats["keyspace_misses"])

    version_key = backend.stored_key(conf.NAMESPACE + policy.VERSION_KEY)
    redis_client.delete(version_key)
    before = lookups()
    for _ in range(50):
        policy.poll_once()
    # A GET per poll would add 50 misses (key absent) or hits; the poll is an INCRBY 0.
    assert lookups() == before
    assert redis_client.get(version_key) == b"0"  # created by the first poll
    after_get = lookups()
    assert after_get == before + 1
    # A value that is not a number (written by something else) becomes a fresh version.
    redis_client.set(version_key, b"not-a-number")
    policy.poll_once()
    assert redis_client.get(version_key).isdigit()


@pytest.fixture
def child_policy(transactional_db: None) -> Iterator[Callable[[str], str]]:
    """A second Python process on the same settings, Redis and test database."""
    code = (
        "import os, sys\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tests.settings')\n"
        "from django.conf import settings\n"
        "settings.DATABASES['default']['NAME'] = os.environ['CACHE_ADMIN_TEST_DB']\n"
        "import django\n"
        "django.setup()\n"
        "from cache_admin.policy import ttl_for\n"
        "for line in sys.stdin:\n"
        "    print(ttl_for(line.strip(), jitter=False), flush=True)\n"
    )
    env = {**os.environ, "CACHE_ADMIN_TEST_DB": str(connection.settings_dict["NAME"])}
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
    # POLICY_RELOAD_INTERVAL is an hour in the test settings: only the version key
    # announced on commit can bring the change over within the wait below.
    assert conf.POLICY_RELOAD_INTERVAL >= 3600
    assert child_policy("product_detail") == "900"
    row = TTLOverride.objects.create(cache_type="product_detail", ttl=120)
    assert _wait_for(child_policy, "product_detail", "120", within=10) == "120"
    row.ttl = 45
    row.save()
    assert _wait_for(child_policy, "product_detail", "45", within=10) == "45"
    row.delete()
    assert _wait_for(child_policy, "product_detail", "900", within=10) == "900"


@pytest.fixture
def poll(monkeypatch: pytest.MonkeyPatch) -> Callable[[], bool]:
    """The poller's step, run by the test alone: the live poller thread stays idle."""
    step = policy.poll_once
    monkeypatch.setattr(policy, "poll_once", lambda: False)
    return step


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
    broken_table: Callable[[], None], redis_client: redis.Redis, poll: Callable[[], bool]
) -> None:
    TTLOverride.objects.create(cache_type="product_detail", ttl=120)
    TTLOverride.objects.create(cache_type="cart", ttl=30)
    assert policy.overrides() == {"product_detail": 120, "cart": 30}
    broken_table()
    with pytest.raises(Exception, match="no such table"):
        TTLOverride.objects.count()

    assert policy.reload() is False
    assert policy.overrides() == {"product_detail": 120, "cart": 30}
    # The poller's path: the version moved, the read fails, nothing is reset.
    redis_client.set(backend.stored_key(conf.NAMESPACE + policy.VERSION_KEY), b"moved")
    assert poll() is False
    assert policy.ttl_for("product_detail", jitter=False) == 120
    assert policy.ttl_for("cart", jitter=False) == 30


def test_the_poller_retries_after_a_failed_read(
    broken_table: Callable[[], None], redis_client: redis.Redis, poll: Callable[[], bool]
) -> None:
    TTLOverride.objects.create(cache_type="cart", ttl=30)
    assert policy.overrides() == {"cart": 30}
    broken_table()
    redis_client.set(backend.stored_key(conf.NAMESPACE + policy.VERSION_KEY), b"moved")
    assert poll() is False
    assert policy.overrides() == {"cart": 30}
    table = TTLOverride._meta.db_table
    with connection.cursor() as cursor:  # repaired, and changed while it was broken
        cursor.execute(f'ALTER TABLE "{table}_gone" RENAME TO "{table}"')
        cursor.execute(f'UPDATE "{table}" SET ttl = 31')
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_gone"')
    # The version it could not act on stays pending until a read succeeds.
    assert poll() is False
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{table}_gone" RENAME TO "{table}"')
    assert poll() is True
    assert policy.overrides() == {"cart": 31}
    assert poll() is False
    with connection.cursor() as cursor:  # the fixture renames it back
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_gone"')


def test_an_unreachable_redis_does_not_reset_the_policy(
    db: None, django_capture_on_commit_callbacks: Callable[..., Any], settings: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        TTLOverride.objects.create(cache_type="cart", ttl=30)
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "KEY_PREFIX": "testsite",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    for _ in range(int(conf.BREAKER_THRESHOLD)):
        policy.poll_once()
    assert breaker_for("default").state == "open"
    assert policy.poll_once() is False
    assert policy.ttl_for("cart", jitter=False) == 30


def test_jitter_adds_up_to_a_fifth_by_default(db: None) -> None:
    seen = [policy.ttl_for("product_list") for _ in range(3000)]
    assert all(v is not None and 300 <= v <= 360 for v in seen)
    assert len(set(seen)) > 30
    assert max(v for v in seen if v is not None) > 350


@pytest.mark.parametrize("fraction", [0, 0.0, -1, None])
def test_jitter_zero_disables_it(db: None, settings: Any, fraction: object) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "JITTER": fraction}
    assert {policy.ttl_for("product_list") for _ in range(500)} == {300}


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


def _fork(child: Callable[[], bytes]) -> bytes:
    """Run ``child`` in a forked process and return what it wrote (20 s at most)."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12 warns about fork() in a process with threads: that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write_end, child())
        finally:
            os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(read_end)
        pytest.fail("the forked child hung")
    with os.fdopen(read_end, "rb") as pipe:
        return pipe.read()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_runs_its_own_poller_even_if_a_lock_was_held(
    transactional_db: None,
) -> None:
    TTLOverride.objects.create(cache_type="cart", ttl=77)
    assert policy.ttl_for("cart", jitter=False) == 77
    parent_thread = policy._snapshot.thread
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
        thread = policy._snapshot.thread
        fresh = thread is not None and thread is not parent_thread and thread.is_alive()
        return f"{ttl} {allowed} {fresh}".encode()

    try:
        out = _fork(child)
    finally:
        release.set()
        holder.join()
    assert out == b"77 True True"


def test_a_reset_never_loses_to_a_reload_in_flight(
    transactional_db: None, poll: Callable[[], bool]
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
