"""The package's cache backends (R1 for every cache consumer): every call of Django's cache
API, and of django-redis's own, goes through the alias's breaker.

Against a real redis-server that is paused (SIGSTOP: it accepts connections and answers
nothing, as a hung Redis does): the first call pays one socket timeout and opens the
breaker; after that no call touches a socket, reads miss, writes are dropped, deletes are
queued and replayed once the server answers again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches

from cache_admin import backend
from cache_admin.backends import CacheUnavailable
from cache_admin.breaker import CLOSED, breaker_for
from cache_admin.invalidation import outbox
from tests.backends_support import BACKENDS, Hung, hung_server, quietly


@pytest.fixture(params=list(BACKENDS))
def hung(request: pytest.FixtureRequest, settings: Any) -> Iterator[Hung]:
    with hung_server(str(request.param), settings) as found:
        yield found


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
