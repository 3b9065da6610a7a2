"""django-redis's own API through the package's backend (sets, hashes, patterns, SCAN
iteration, locks, IGNORE_EXCEPTIONS): its answers while Redis hangs, and while it answers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from cache_admin.backends import CacheUnavailable
from cache_admin.backends.django_redis import RedisCache as GuardedDjangoRedis
from cache_admin.breaker import CLOSED, OPEN, breaker_for
from cache_admin.invalidation import outbox
from tests.backends_support import BACKENDS, Hung, hung_server, quietly


@pytest.fixture
def hung_django_redis(settings: Any) -> Iterator[Hung]:
    """For django-redis's own API and options."""
    with hung_server("django-redis", settings) as found:
        yield found


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
