"""The session engine ``cache_admin.sessions``: sessions in the database, read through the
cache under the session cache type, and never lost, dropped or resurrected because Redis
could not be reached (against real Redis servers, one of them paused by SIGSTOP).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.test import Client

from cache_admin import cachelog, counters, policy
from cache_admin.breaker import OPEN, breaker_for
from cache_admin.invalidation import outbox
from cache_admin.models import TTLOverride
from cache_admin.sessions import SessionStore
from cache_admin.testing import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def engine(settings: Any) -> None:
    settings.SESSION_ENGINE = "cache_admin.sessions"


def cached(session_key: str, alias: str = "default") -> Any:
    """The session's cache entry as Django reads it (None when absent)."""
    return caches[alias].get(f"session:{session_key}")


def pttl(client: redis.Redis, session_key: str, prefix: str = "testsite") -> int:
    return int(client.pttl(f"{prefix}:1:session:{session_key}"))


def new_session(**data: Any) -> SessionStore:
    store = SessionStore()
    for key, value in data.items():
        store[key] = value
    store.save(must_create=True)
    return store


def test_a_session_is_a_row_and_a_cache_entry_under_the_session_type(
    redis_client: redis.Redis,
) -> None:
    store = new_session(cart=[1, 2])
    key = store.session_key
    assert key is not None
    assert Session.objects.filter(session_key=key).exists()
    assert cached(key) == {"cart": [1, 2]}
    # The type's TTL: cookie, row and cache entry alike (tests/settings: 1800 s).
    assert store.get_expiry_age() == 1800
    assert 1795_000 < pttl(redis_client, key) <= 1800_000
    assert SessionStore(key).load() == {"cart": [1, 2]}


def test_a_ttl_override_changes_the_lifetime(
    redis_client: redis.Redis, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        TTLOverride.objects.create(cache_type="user_session", ttl=120)
    policy.reload()
    store = new_session(a=1)
    assert store.get_expiry_age() == 120
    assert 115_000 < pttl(redis_client, str(store.session_key)) <= 120_000


def test_hits_and_misses_count_under_the_session_type(redis_client: redis.Redis) -> None:
    key = str(new_session(a=1).session_key)
    before = counters.type_stats(300).get("user_session", counters.Counts())
    assert SessionStore(key).load() == {"a": 1}  # a hit
    redis_client.delete(f"testsite:1:session:{key}")  # evicted, say
    assert SessionStore(key).load() == {"a": 1}  # a miss, filled from the row
    assert cached(key) == {"a": 1}
    after = counters.type_stats(300)["user_session"]
    assert (after.hits - before.hits, after.misses - before.misses) == (1, 1)


def test_a_refilled_entry_lives_as_long_as_its_row(redis_client: redis.Redis) -> None:
    store = SessionStore()
    store["a"] = 1
    store.set_expiry(120)  # the session's own expiry, shorter than the type's TTL
    store.save(must_create=True)
    key = str(store.session_key)
    redis_client.delete(f"testsite:1:session:{key}")
    assert SessionStore(key).load()["a"] == 1  # a miss, filled from the row
    assert 100_000 < pttl(redis_client, key) <= 120_000  # not the type's 1800 s


def test_an_unknown_key_is_no_session_and_caches_nothing(redis_client: redis.Redis) -> None:
    store = SessionStore("x" * 32)
    assert store.load() == {}
    assert store.session_key is None  # the middleware then drops the cookie: none exists
    assert redis_client.keys("*session:*") == []


def test_a_fill_never_writes_back_a_session_deleted_meanwhile() -> None:
    """C1 for sessions: a load that read the row before a sign-out must not put the signed
    out session back in the cache (it would outlive the sign-out for its whole TTL)."""
    key = str(new_session(user="ada").session_key)
    caches["default"].delete(f"session:{key}")
    row_read, signed_out = threading.Event(), threading.Event()

    class SlowStore(SessionStore):
        key_salt = "django.contrib.sessions.SessionStore"  # its data signed as the engine's

        def _get_session_from_db(self) -> Any:
            row = super()._get_session_from_db()
            row_read.set()
            assert signed_out.wait(10)
            return row

    found: list[dict[str, Any]] = []
    loader = threading.Thread(target=lambda: found.append(SlowStore(key).load()))
    loader.start()
    assert row_read.wait(10)
    SessionStore(key).delete()  # the sign-out, between the row read and the fill
    signed_out.set()
    loader.join(10)
    assert found == [{"user": "ada"}]  # that request saw its session as it was
    assert cached(key) is None
    assert SessionStore(key).load() == {}


@dataclass
class Down:
    server: RedisServer
    alias: str

    def stored(self, session_key: str) -> str:
        return f"down:1:session:{session_key}"

    def raw(self) -> redis.Redis:
        return redis.Redis.from_url(f"{self.server.url}/0")


@pytest.fixture
def down(settings: Any) -> Iterator[Down]:
    """Sessions on a Redis of their own (SESSION_CACHE_ALIAS), paused by the test."""
    server = RedisServer().start()
    alias = "sessions"
    settings.CACHES = {
        **settings.CACHES,
        alias: {
            "BACKEND": "cache_admin.backends.django_redis.RedisCache",
            "LOCATION": f"{server.url}/0",
            "KEY_PREFIX": "down",
            "OPTIONS": {"SOCKET_TIMEOUT": 0.2, "SOCKET_CONNECT_TIMEOUT": 0.2},
        },
    }
    settings.SESSION_CACHE_ALIAS = alias
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "BREAKER_PROBE_INTERVAL": 0.05,
        "OUTBOX_RETRY_INTERVAL": 0,
    }
    outbox.clear()
    try:
        yield Down(server, alias)
    finally:
        server.resume()
        breaker_for(alias).reset()
        outbox.clear()
        server.stop()


def test_a_hung_redis_loses_no_session_and_a_change_is_not_undone(down: Down) -> None:
    key = str(new_session(cart=[1]).session_key)
    assert cached(key, down.alias) == {"cart": [1]}
    down.server.pause()
    # Read from the row: "could not read" is never "no session".
    assert SessionStore(key).load() == {"cart": [1]}
    assert breaker_for(down.alias).state == OPEN
    # A change lands in the row; the cache entry Redis still holds is stale: its deletion
    # is queued, so that the old cart does not come back.
    store = SessionStore(key)
    store["cart"] = [1, 2]
    store.save()
    assert SessionStore(key).load() == {"cart": [1, 2]}
    assert outbox.pending_count(down.alias) == 1
    down.server.resume()
    assert breaker_for(down.alias).wait_closed(10)
    assert SessionStore(key).load() == {"cart": [1, 2]}  # refilled from the row
    assert cached(key, down.alias) == {"cart": [1, 2]}


def test_a_sign_out_during_the_outage_stays_signed_out(down: Down) -> None:
    key = str(new_session(user="ada").session_key)
    down.server.pause()
    store = SessionStore(key)
    store.load()
    store.flush()
    assert not Session.objects.filter(session_key=key).exists()
    down.server.resume()
    assert breaker_for(down.alias).wait_closed(10)
    client = down.raw()
    try:
        assert not client.exists(down.stored(key))  # the queued deletion was replayed
    finally:
        client.close()
    assert SessionStore(key).load() == {}


def test_a_new_session_needs_no_redis(down: Down) -> None:
    down.server.kill()  # refused: nothing listens
    keys = [new_session(n=i).session_key for i in range(5)]
    assert len(set(keys)) == 5 and None not in keys  # unique by the database
    assert [SessionStore(key).load() for key in keys] == [{"n": i} for i in range(5)]


def test_async_load_and_save(down: Down) -> None:
    key = str(new_session(a=1).session_key)

    async def change() -> dict[str, Any]:
        store = SessionStore(key)
        await store.aset("b", 2)
        await store.asave()
        return await SessionStore(key).aload()

    assert asyncio.run(change()) == {"a": 1, "b": 2}
    assert cached(key, down.alias) == {"a": 1, "b": 2}


def test_signed_in_users_stay_signed_in_and_can_sign_in_during_an_outage(down: Down) -> None:
    User.objects.create_superuser("staff", "staff@example.com", "pw")
    User.objects.create_superuser("other", "other@example.com", "pw")
    signed_in = Client()
    assert (
        signed_in.post("/admin/login/", {"username": "staff", "password": "pw"}).status_code == 302
    )
    assert signed_in.get("/admin/").status_code == 200

    down.server.pause()
    response = signed_in.get("/admin/")
    assert response.status_code == 200  # still signed in: the row was read
    assert "sessionid" not in response.cookies  # and the cookie was left alone
    newcomer = Client()
    login = newcomer.post("/admin/login/", {"username": "other", "password": "pw"})
    assert login.status_code == 302 and login.cookies["sessionid"].value
    assert newcomer.get("/admin/").status_code == 200

    down.server.resume()
    assert breaker_for(down.alias).wait_closed(10)
    for client in (signed_in, newcomer):
        response = client.get("/admin/")
        assert response.status_code == 200
        assert "sessionid" not in response.cookies


def test_session_keys_are_masked_in_the_cache_log() -> None:
    assert cachelog.shown("session:abcdefghijklmnop") == "session:abcd..."
    assert cachelog.shown("product:1") == "product:1"


def test_without_its_type_the_engine_keeps_djangos_lifetime(
    settings: Any, redis_client: redis.Redis
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SESSION_TYPE": "undeclared"}
    store = new_session(a=1)
    assert store.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert redis_client.keys("*django.contrib.sessions.cached_db*")  # Django's own prefix
    assert SessionStore().load() == {}  # no key: nothing to read


def test_a_session_cache_that_is_not_redis_leaves_sessions_to_the_database(
    settings: Any,
) -> None:
    settings.SESSION_CACHE_ALIAS = "locmem"
    store = new_session(a=1)
    key = str(store.session_key)
    assert SessionStore(key).load() == {"a": 1}
    store["a"] = 2
    store.save()
    assert SessionStore(key).load() == {"a": 2}
    asyncio.run(SessionStore(key).adelete())
    assert SessionStore(key).load() == {}
    assert outbox.pending_count() == 0  # nothing queued for a cache that keeps nothing
