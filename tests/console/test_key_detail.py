from __future__ import annotations

import pytest
import redis
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from cache_admin.keyspace import key_token
from cache_admin.models import AuditEntry


def url(name: str, logical: str) -> str:
    return reverse(f"admin:{name}", args=[key_token(cache.make_key(logical).encode())])


def open_key(client: Client, logical: str, **params: str) -> str:
    response = client.get(url("cache_admin_key_detail", logical), params)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_string_value_is_decoded_and_escaped(admin_client: Client) -> None:
    cache.set("product:1", {"name": "<script>alert(1)</script>", "price": 10})
    body = open_key(admin_client, "product:1")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)" not in body
    assert "Python type: dict" in body
    assert "Product detail" in body


def test_refused_pickle_names_the_class(admin_client: Client, redis_client: redis.Redis) -> None:
    import pickle

    redis_client.set(cache.make_key("product:evil"), pickle.dumps(redis.Redis))
    body = open_key(admin_client, "product:evil")
    assert "not allowed" in body
    assert "redis" in body


@pytest.mark.parametrize("kind", ["hash", "list", "set", "zset", "stream"])
def test_every_redis_type_is_shown(
    admin_client: Client, redis_client: redis.Redis, kind: str
) -> None:
    key = cache.make_key(f"x:{kind}")
    if kind == "hash":
        redis_client.hset(key, mapping={"f1": "<b>v1</b>", "f2": "v2"})
    elif kind == "list":
        redis_client.rpush(key, "<b>v1</b>", "v2")
    elif kind == "set":
        redis_client.sadd(key, "<b>v1</b>", "v2")
    elif kind == "zset":
        redis_client.zadd(key, {"<b>v1</b>": 1.5, "v2": 2})
    else:
        redis_client.xadd(key, {"f1": "<b>v1</b>"})
    body = open_key(admin_client, f"x:{kind}")
    assert 'id="cache-admin-items"' in body
    assert "&lt;b&gt;v1&lt;/b&gt;" in body
    assert "<b>v1</b>" not in body


def test_large_list_is_paged(admin_client: Client, redis_client: redis.Redis) -> None:
    redis_client.rpush(cache.make_key("x:big"), *[f"item-{i}" for i in range(120)])
    body = open_key(admin_client, "x:big")
    assert "item-0<" in body and "item-49<" in body and "item-50<" not in body
    assert "Next page" in body
    body = open_key(admin_client, "x:big", page="2")
    assert "item-100<" in body and "item-99<" not in body
    assert "Next page" not in body


@pytest.mark.parametrize("page", ["-1", "abc", "99999999999999999999"])
def test_bad_page_numbers_start_at_the_top(
    admin_client: Client, redis_client: redis.Redis, page: str
) -> None:
    redis_client.rpush(cache.make_key("x:big"), *[f"item-{i}" for i in range(60)])
    body = open_key(admin_client, "x:big", page=page)
    assert "item-0<" in body


def test_bad_hash_cursor_is_a_message(admin_client: Client, redis_client: redis.Redis) -> None:
    redis_client.hset(cache.make_key("x:h"), "f", "v")
    body = open_key(admin_client, "x:h", page="1", cursor="zzz")
    assert "Showing the first page" in body


def test_deleted_key_from_a_stale_link(admin_client: Client) -> None:
    cache.set("product:1", "x")
    link = url("cache_admin_key_detail", "product:1")
    cache.delete("product:1")
    response = admin_client.get(link)
    assert response.status_code == 404
    assert b"no longer exists" in response.content


@pytest.mark.parametrize("token", ["!!!", "a", "x" * 200000, "dGVzdA="])
def test_bad_tokens_are_not_found(admin_client: Client, token: str) -> None:
    response = admin_client.get(f"/admin/cache/keys/k/{token}/")
    assert response.status_code == 404


def test_key_outside_the_site_namespace_is_refused(
    admin_client: Client, redis_client: redis.Redis
) -> None:
    redis_client.set("neighbour:1:secret", "x")
    response = admin_client.get(
        reverse("admin:cache_admin_key_detail", args=[key_token(b"neighbour:1:secret")])
    )
    assert response.status_code == 404
    assert b"does not name a key of this site" in response.content
    response = admin_client.post(
        reverse("admin:cache_admin_key_delete", args=[key_token(b"neighbour:1:secret")])
    )
    assert response.status_code == 404
    assert redis_client.get("neighbour:1:secret") == b"x"


def test_delete_key_writes_an_audit_entry(admin_client: Client, superuser: object) -> None:
    cache.set("product:1", "x")
    response = admin_client.post(url("cache_admin_key_delete", "product:1"))
    assert response.status_code == 302
    assert cache.get("product:1") is None
    entry = AuditEntry.objects.get(action="delete_key")
    assert entry.user == superuser
    assert entry.target == "testsite:1:product:1"
    assert entry.keys_affected == 1


def test_set_and_remove_ttl(admin_client: Client, redis_client: redis.Redis) -> None:
    cache.set("product:1", "x", None)
    stored = cache.make_key("product:1")
    response = admin_client.post(url("cache_admin_key_ttl", "product:1"), {"ttl": "120"})
    assert response.status_code == 302
    assert 0 < redis_client.ttl(stored) <= 120
    response = admin_client.post(url("cache_admin_key_ttl", "product:1"), {"remove": "on"})
    assert response.status_code == 302
    assert redis_client.ttl(stored) == -1
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert sorted(actions) == ["remove_ttl", "set_ttl"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5", "greater than or equal to 1"),
        ("0", "greater than or equal to 1"),
        ("abc", "Enter a whole number"),
        ("1.5", "Enter a whole number"),
        ("99999999999999999999", "less than or equal to 2592000"),
        ("", "Enter a TTL in seconds"),
    ],
)
def test_bad_ttl_values_are_messages(
    admin_client: Client, redis_client: redis.Redis, value: str, message: str
) -> None:
    cache.set("product:1", "x", 300)
    response = admin_client.post(url("cache_admin_key_ttl", "product:1"), {"ttl": value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert 290 < redis_client.ttl(cache.make_key("product:1")) <= 300
    assert not AuditEntry.objects.exists()


def test_ttl_on_a_vanished_key(admin_client: Client) -> None:
    cache.set("product:1", "x")
    link = url("cache_admin_key_ttl", "product:1")
    cache.delete("product:1")
    response = admin_client.post(link, {"ttl": "60"})
    assert response.status_code == 404
    assert b"no longer exists" in response.content
