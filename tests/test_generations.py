from __future__ import annotations

import redis

from cache_admin import backend, generations, stored_keys
from tests import redis_commands
from tests.testapp.models import Category, Product


def test_key_follows_the_contract() -> None:
    assert generations.key(Product) == "cache_admin:gen:testapp.product"
    assert generations.key(Product(pk=1)) == "cache_admin:gen:testapp.product"
    assert generations.key("testapp.Product") == "cache_admin:gen:testapp.product"


def test_token_is_created_once_and_stable(cache_alias: str, redis_client: redis.Redis) -> None:
    first = generations.token(Product)
    assert len(first) == 16
    assert generations.token(Product) == first
    assert redis_client.get(stored_keys.stored_key(generations.key(Product))) == first.encode()
    # No expiry: a generation lives as long as Redis keeps it.
    assert redis_client.ttl(stored_keys.stored_key(generations.key(Product))) == -1
    assert generations.token(Category) != first


def test_bump_is_one_set_of_a_new_random_token(cache_alias: str, redis_client: redis.Redis) -> None:
    first = generations.token(Product)
    before = redis_commands.calls(redis_client, "set")
    bumped = generations.bump(Product)
    after = redis_commands.calls(redis_client, "set")
    assert after - before == 1
    assert bumped != first
    assert generations.token(Product) == bumped


def test_a_lost_token_is_replaced_by_a_new_random_one(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    seen = {generations.token(Product)}
    for _ in range(20):
        redis_client.delete(stored_keys.stored_key(generations.key(Product)))
        fresh = generations.token(Product)
        assert fresh not in seen  # never a value an old entry could hold
        seen.add(fresh)


def test_concurrent_creation_agrees_on_one_token(
    cache_alias: str, redis_client: redis.Redis
) -> None:
    # Another process created the token between our GET and SET NX: we take theirs.
    stored = stored_keys.stored_key(generations.key(Product))
    client_class = type(backend.client())  # a cluster client's own class on a cluster
    original_set = client_class.set

    def set_after_a_rival(self: redis.Redis, name: str, value: bytes, **kwargs: object) -> object:
        if kwargs.get("nx") and name == stored:
            original_set(self, name, b"rival-token")
        return original_set(self, name, value, **kwargs)

    client_class.set = set_after_a_rival
    try:
        assert generations.token(Product) == "rival-token"
    finally:
        client_class.set = original_set
