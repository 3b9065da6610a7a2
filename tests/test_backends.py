"""The package's cache backends (R1 for every cache consumer): every call of Django's cache
API, and of django-redis's own, goes through the alias's breaker.

Against a real redis-server that is paused (SIGSTOP: it accepts connections and answers
nothing, as a hung Redis does): the first call pays one socket timeout and opens the
breaker; after that no call touches a socket, reads miss, writes are dropped, deletes are
queued and replayed once the server answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from django.core.cache import caches

from cache_admin import backend
from cache_admin.backends import CacheUnavailable
from cache_admin.backends.django_redis import RedisCache as GuardedDjangoRedis
from cache_admin.breaker import CLOSED, OPEN, breaker_for
from cache_admin.invalidation import outbox
from cache_admin.testing import RedisServer

TIMEOUT = 0.2

BACKENDS = {
    "django-redis": (
        "cache_admin.backends.django_redis.RedisCache",
        {"SOCKET_TIMEOUT": TIMEOUT, "SOCKET_CONNECT_TIMEOUT": TIMEOUT},
        backend.DJANGO_REDIS,
    ),
    "django-builtin": (
        "cache_admin.backends.redis.RedisCache",
        {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT},
        backend.DJANGO_BUILTIN,
    ),
}


@dataclass
class Hung:
    server: RedisServer
    alias: str
    kind: str

    @property
    def cache(self) -> Any:
        return caches[self.alias]

    def raw(self) -> redis.Redis:
        return redis.Redis.from_url(f"{self.server.url}/0")

    def stored(self, key: str) -> str:
        return str(self.cache.make_key(key))

    def hang(self) -> None:
        """Pause the server and make the first call: it pays one timeout and opens the breaker."""
        self.server.pause()
        started = time.monotonic()
        assert self.cache.get("anything", "miss") == "miss"
        assert time.monotonic() - started >= TIMEOUT * 0.9  # it did wait for the server
        assert breaker_for(self.alias).state == OPEN  # a timeout opens it at once

    def answer_again(self) -> None:
        self.server.resume()
        found = breaker_for(self.alias)
        assert found.wait_closed(10), "the breaker did not close after the server answered"


@contextlib.contextmanager
def hung_server(name: str, settings: Any) -> Iterator[Hung]:
    path, options, kind = BACKENDS[name]
    server = RedisServer().start()
    alias = f"guarded-{name}"
    settings.CACHES = {
        **settings.CACHES,
        alias: {
            "BACKEND": path,
            "LOCATION": f"{server.url}/0",
            "KEY_PREFIX": "guarded",
            "OPTIONS": options,
        },
    }
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "BREAKER_PROBE_INTERVAL": 0.05,
        "OUTBOX_RETRY_INTERVAL": 0,
    }
    outbox.clear()
    try:
        yield Hung(server, alias, kind)
    finally:
        server.resume()
        breaker_for(alias).reset()
        outbox.clear()
        server.stop()


@pytest.fixture(params=list(BACKENDS))
def hung(request: pytest.FixtureRequest, settings: Any) -> Iterator[Hung]:
    with hung_server(str(request.param), settings) as found:
        yield found


@pytest.fixture
def hung_django_redis(settings: Any) -> Iterator[Hung]:
    """For django-redis's own API and options."""
    with hung_server("django-redis", settings) as found:
        yield found


def quietly(seen: list[int], calls: Callable[[], None]) -> None:
    """Run ``calls``; assert this thread touched no socket (so none waited for the server)."""
    me = threading.get_ident()
    seen.clear()
    calls()
    assert me not in seen, "a call went to the hung server"


def test_the_toolkit_recognises_them_and_shares_their_breaker(hung: Hung) -> None:
    cache = hung.cache
    assert backend.kind(cache) == hung.kind
    assert backend.check_alias(hung.alias) is None
    assert cache.breaker is breaker_for(hung.alias)
    assert cache.breaker_alias == hung.alias


def test_they_answer_as_the_backend_they_wrap(hung: Hung) -> None:
    plain = "default" if hung.kind == backend.DJANGO_REDIS else "builtin"

    def scenario(cache: Any) -> list[Any]:
        cache.delete_many(["a", "b", "n", "m"])
        return [
            cache.get("a", "missing"),
            cache.set("a", {"x": 1}, 60),
            cache.get("a"),
            cache.add("a", 2, 60),
            cache.add("b", 2, 60),
            cache.get_many(["a", "b", "c"]),
            cache.set_many({"n": 1, "m": 5}, 60),
            cache.incr("n", 2),
            cache.decr("m"),
            cache.touch("a", 30),
            cache.touch("nope", 30),
            cache.has_key("a"),
            "b" in cache,
            cache.get_or_set("c", lambda: 7, 60),
            cache.delete("a"),
            cache.delete("a"),
            cache.get("a"),
        ]

    assert scenario(hung.cache) == scenario(caches[plain])


def test_a_hung_redis_costs_one_timeout_then_no_call_touches_it(
    hung: Hung, socket_use: list[int]
) -> None:
    cache = hung.cache
    cache.set("kept", "value", 60)
    hung.hang()
    answers: dict[str, Any] = {}

    def every_method() -> None:
        answers["get"] = cache.get("kept", "default")
        answers["get_many"] = cache.get_many(["kept", "other"])
        answers["has_key"] = cache.has_key("kept")
        answers["in"] = "kept" in cache
        answers["set"] = cache.set("k", 1, 60)
        answers["add"] = cache.add("k", 1, 60)
        answers["set_many"] = cache.set_many({"k": 1, "j": 2}, 60)
        answers["touch"] = cache.touch("kept", 60)
        answers["get_or_set"] = cache.get_or_set("g", lambda: "computed", 60)
        answers["delete"] = cache.delete("kept")
        answers["delete_many"] = cache.delete_many(["x", "y"])
        answers["clear"] = cache.clear()
        for name in ("incr", "decr", "incr_version"):
            with pytest.raises(CacheUnavailable) as raised:
                getattr(cache, name)("kept")
            # Django's "no such key", and redis-py's connection error: callers that
            # handle either keep working, none is told a number that was never counted.
            assert isinstance(raised.value, ValueError)
            assert isinstance(raised.value, redis.ConnectionError)

    quietly(socket_use, every_method)  # fifteen calls, none of them touched a socket
    assert answers["get"] == "default"
    assert answers["get_many"] == {}
    assert answers["has_key"] is False and answers["in"] is False
    assert not answers["set"] and answers["add"] is False
    assert sorted(answers["set_many"]) == ["j", "k"]  # the keys not stored
    assert answers["touch"] is False
    assert answers["get_or_set"] == "computed"
    assert answers["delete"] is False  # not deleted yet: queued
    assert not answers["delete_many"]
    assert not answers["clear"]


def test_deletes_are_queued_and_replayed_when_redis_answers(hung: Hung) -> None:
    cache = hung.cache
    cache.set_many({"a": 1, "b": 2, "c": 3, "kept": 4}, 60)
    hung.hang()
    assert cache.delete("a") is False
    cache.delete_many(["b", "c"])
    assert outbox.pending_count(hung.alias) == 3
    client = hung.raw()
    try:
        hung.answer_again()
        # The probe's recovery hooks replayed the queue before the breaker closed.
        assert outbox.pending_count(hung.alias) == 0
        for key in ("a", "b", "c"):
            assert not client.exists(hung.stored(key)), key
        assert client.exists(hung.stored("kept"))
    finally:
        client.close()
    assert cache.get("kept") == 4  # hits again


def test_async_methods_go_through_the_same_breaker(hung: Hung) -> None:
    cache = hung.cache
    cache.set("kept", 1, 60)
    raw = hung.raw()
    raw.config_resetstat()
    hung.hang()

    async def every_method() -> dict[str, Any]:
        answers = {
            "aget": await cache.aget("kept", "default"),
            "aget_many": await cache.aget_many(["kept"]),
            "ahas_key": await cache.ahas_key("kept"),
            "aset": await cache.aset("k", 1, 60),
            "aadd": await cache.aadd("k", 1, 60),
            "aset_many": await cache.aset_many({"k": 1}, 60),
            "atouch": await cache.atouch("kept", 60),
            "adelete": await cache.adelete("kept"),
            "adelete_many": await cache.adelete_many(["x"]),
            "aget_or_set": await cache.aget_or_set("g", "computed", 60),
        }
        for name in ("aincr", "adecr", "aincr_version"):
            with pytest.raises(ValueError):
                await getattr(cache, name)("kept")
        return answers

    answers = asyncio.run(every_method())
    assert answers["aget"] == "default" and answers["aget_many"] == {}
    assert answers["ahas_key"] is False and answers["aadd"] is False
    assert answers["aset_many"] == ["k"] and answers["atouch"] is False
    assert answers["adelete"] is False and answers["aget_or_set"] == "computed"
    assert outbox.pending_count(hung.alias) == 2  # kept, x
    # None of them reached the server (so none waited for it): what the paused server
    # received runs when it answers again, the first call's GET and the probe's PINGs.
    hung.answer_again()
    received = {name.removeprefix("cmdstat_") for name in raw.info("commandstats")}
    raw.close()
    assert "get" in received
    assert not received & {"mget", "exists", "set", "setnx", "expire", "mset", "incrby"}


def test_an_error_reply_is_not_an_outage(hung: Hung) -> None:
    cache = hung.cache
    client = hung.raw()
    client.rpush(hung.stored("list"), b"x")
    client.close()
    with pytest.raises(redis.exceptions.ResponseError, match="WRONGTYPE"):
        cache.get("list")
    assert breaker_for(hung.alias).state == CLOSED


def test_ignore_exceptions_still_silences_error_replies(
    hung_django_redis: Hung, settings: Any
) -> None:
    hung = hung_django_redis
    config = settings.CACHES[hung.alias]
    settings.CACHES = {
        **settings.CACHES,
        hung.alias: {**config, "OPTIONS": {**config["OPTIONS"], "IGNORE_EXCEPTIONS": True}},
    }
    client = hung.raw()
    client.rpush(hung.stored("list"), b"x")
    client.close()
    assert hung.cache.get("list", "default") == "default"
    assert breaker_for(hung.alias).state == CLOSED


def test_django_redis_own_methods_answer_without_touching_redis(
    hung_django_redis: Hung, socket_use: list[int]
) -> None:
    hung = hung_django_redis
    cache = hung.cache
    cache.set("kept", 1, 60)
    cache.sadd("members", "a", "b")
    cache.set("search:1", 1, 60)
    hung.hang()
    answers: dict[str, Any] = {}

    def every_method() -> None:
        answers["ttl"] = cache.ttl("kept")
        answers["pttl"] = cache.pttl("kept")
        answers["expire"] = cache.expire("kept", 10)
        answers["persist"] = cache.persist("kept")
        answers["keys"] = cache.keys("*")
        answers["iter_keys"] = list(cache.iter_keys("*"))
        answers["smembers"] = cache.smembers("members")
        answers["sismember"] = cache.sismember("members", "a")
        answers["smismember"] = cache.smismember("members", "a", "b")
        answers["sadd"] = cache.sadd("members", "c")
        answers["srem"] = cache.srem("members", "a")
        answers["hset"] = cache.hset("hash", "field", 1)
        answers["hdel"] = cache.hdel("hash", "field")
        answers["hkeys"] = cache.hkeys("hash")
        answers["delete_pattern"] = cache.delete_pattern("search:*")
        lock = cache.lock("job", timeout=5)
        answers["acquire"] = lock.acquire(blocking=False)
        answers["locked"] = lock.locked()
        with pytest.raises(redis.exceptions.LockError), cache.lock("job", timeout=5):
            pass
        with pytest.raises(CacheUnavailable):
            cache.zincrby("scores", 1, "a")

    quietly(socket_use, every_method)
    assert answers == {
        "ttl": 0,
        "pttl": 0,
        "expire": False,
        "persist": False,
        "keys": [],
        "iter_keys": [],
        "smembers": set(),
        "sismember": False,
        "smismember": [False, False],
        "sadd": 0,
        "srem": 0,
        "hset": 0,
        "hdel": 0,
        "hkeys": [],
        "delete_pattern": 0,
        "acquire": False,
        "locked": False,
    }
    # A member removal is an invalidation of the whole key; a literal prefix pattern is
    # replayed as a prefix deletion.
    assert outbox.pending_count(hung.alias) == 3  # members, hash, the search: prefix
    client = hung.raw()
    try:
        client_keys = [hung.stored("members"), hung.stored("search:1")]
        hung.answer_again()
        assert not any(client.exists(key) for key in client_keys)
    finally:
        client.close()


def test_an_iteration_cut_by_the_outage_ends_instead_of_raising(
    hung_django_redis: Hung,
) -> None:
    hung = hung_django_redis
    cache = hung.cache
    cache.set_many({f"k{i}": i for i in range(50)}, 60)
    found = cache.iter_keys("k*", itersize=10)
    first = next(found)
    hung.server.pause()
    rest = list(found)  # the next SCAN step times out: the iteration ends
    assert first.startswith("k") and len(rest) < 49
    assert breaker_for(hung.alias).state == OPEN


def test_a_cache_built_outside_caches_has_its_own_breaker(hung_django_redis: Hung) -> None:
    hung = hung_django_redis
    options = BACKENDS["django-redis"][1]
    built = GuardedDjangoRedis(f"{hung.server.url}/0", {"OPTIONS": options})
    assert built.breaker_alias is None
    assert built.breaker is not breaker_for(hung.alias)
    built.set("a", 1)
    hung.server.pause()
    assert built.get("a", "miss") == "miss"
    assert built.delete("a") is False  # not queued: there is no alias to replay it on
    assert outbox.pending_count() == 0


def test_the_lock_works_while_redis_answers(hung_django_redis: Hung) -> None:
    cache = hung_django_redis.cache
    lock = cache.lock("job", timeout=5)
    assert lock.name == hung_django_redis.stored("job")  # redis-py's Lock, behind the proxy
    assert lock.acquire(blocking=False) and lock.locked() and lock.owned()
    assert lock.extend(5) and lock.reacquire()
    lock.release()
    assert not lock.locked()
    with cache.lock("job", timeout=5) as held:
        assert held.owned()


def test_a_lock_held_when_redis_hangs_is_not_pretended(
    hung_django_redis: Hung, caplog: pytest.LogCaptureFixture
) -> None:
    lock = hung_django_redis.cache.lock("job", timeout=5)
    assert lock.acquire(blocking=False)
    hung_django_redis.hang()
    assert lock.owned() is False
    with pytest.raises(redis.exceptions.LockError):
        lock.extend(5)
    with pytest.raises(redis.exceptions.LockError):
        lock.reacquire()
    with caplog.at_level(logging.WARNING, logger="cache_admin"):
        lock.release()  # not raised: the lock expires after its timeout
    assert "not released, Redis unreachable" in caplog.text


def test_django_redis_calls_with_counts_and_patterns(hung_django_redis: Hung) -> None:
    hung = hung_django_redis
    cache = hung.cache
    cache.sadd("members", "a", "b")
    cache.set_many({"search:1": 1, "other": 2}, 60)
    assert sorted(cache.sscan_iter("members")) == ["a", "b"]
    assert cache.delete_pattern("search:*") == 1
    assert cache.clear() is None  # done: django-redis answers nothing
    hung.hang()
    assert cache.srandmember("members", 2) == []
    assert cache.spop("members", count=2) == set()
    assert cache.srandmember("members") is None
    assert list(cache.sscan_iter("members")) == []
    assert cache.delete_pattern("search:?") == 0  # a glob that is not a prefix: not queued
    assert cache.delete_many([]) == 0
    assert outbox.pending_count(hung.alias) == 0


def test_the_alias_is_found_among_aliases_alike(hung: Hung, settings: Any) -> None:
    config = settings.CACHES[hung.alias]
    settings.CACHES = {
        # The same server and options under a backend that does not import, and under
        # other options: neither is this cache.
        "broken": {**config, "BACKEND": "nowhere.RedisCache"},
        "other-options": {**config, "KEY_PREFIX": "other"},
        **settings.CACHES,
    }
    assert caches[hung.alias].breaker_alias == hung.alias
    assert caches["other-options"].breaker_alias == "other-options"


def test_a_success_clears_earlier_failures(hung: Hung) -> None:
    cache = hung.cache
    cache.breaker.failure(redis.ConnectionError("one refused connection"))
    assert cache.get("nothing") is None
    assert cache.breaker.failures == 0
    cache.breaker.failure(redis.ConnectionError("one refused connection"))
    assert cache.has_key("nothing") is False
    assert cache.breaker.failures == 0


def test_an_error_of_the_caller_is_raised_as_the_backend_raises_it(hung: Hung) -> None:
    with pytest.raises(ValueError, match="not found") as raised:
        hung.cache.incr("missing")
    assert not isinstance(raised.value, CacheUnavailable)  # Redis answered: no such key
    assert breaker_for(hung.alias).state == CLOSED
