"""The key browser: prefixes (glob characters literal), the tree, type filter, cursor paging."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
import redis
from django.core.cache import cache, caches
from django.test import Client
from django.urls import reverse

from cache_admin.keyspace import key_token


def tree_of(client: Client, **params: str) -> str:
    """The namespace tree the key page loads as a fragment."""
    response = client.get(reverse("admin:cache_admin_keys_tree"), params)
    assert response.status_code == 200
    return response.content.decode()


def browse(client: Client, **params: str) -> str:
    response = client.get(reverse("admin:cache_admin_keys"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_lists_keys_under_a_prefix_with_their_columns(admin_client: Client) -> None:
    cache.set("product:1", {"name": "Laptop"}, 600)
    cache.set("product:2", "x", None)
    cache.set("category:1", "c")
    body = browse(admin_client, prefix="product:")
    assert "product:1" in body and "product:2" in body
    assert "category:1" not in body.split('id="cache-admin-keys"')[1]
    assert "testsite:1:product:1" in body  # the stored key beside the logical one
    assert "Product detail" in body  # cache type
    assert "string" in body
    assert "600 s" in body or "599 s" in body
    assert "no expiry" in body
    assert "bytes" in body  # MEMORY USAGE
    assert (
        reverse("admin:cache_admin_key_detail", args=[key_token(b"testsite:1:product:1")]) in body
    )


def test_namespace_tree_counts_children(admin_client: Client) -> None:
    for i in range(3):
        cache.set(f"product:{i}", i)
    cache.set("product:list:abc", [])
    cache.set("cart:user:1", [])
    tree = tree_of(admin_client)
    assert "product:" in tree and "cart:" in tree
    assert '<span class="ca-count">4</span>' in tree
    tree = tree_of(admin_client, prefix="product:")
    assert "list:" in tree


def test_namespace_tree_with_a_chosen_delimiter(admin_client: Client) -> None:
    for name in ["views.decorators.cache.page", "views.decorators.cache.header", "views.x"]:
        cache.set(name, 1)
    cache.set("template.cache.recommendations.1", 1)
    tree = tree_of(admin_client, delimiter=".")
    assert "views." in tree and "template." in tree
    assert '<span class="ca-count">3</span>' in tree  # views.*
    # The tree's links keep the delimiter, so the next level splits the same way.
    assert "?prefix=views.&amp;delimiter=." in tree
    tree = tree_of(admin_client, prefix="views.", delimiter=".")
    assert "decorators." in tree
    body = browse(admin_client, prefix="views.", delimiter=".")
    assert 'value="."' in body  # the field shows the delimiter in use
    assert "keys/tree/?prefix=views.&amp;delimiter=." in body  # the tree's own request
    # With the default delimiter the same keys have no namespace at all.
    tree = tree_of(admin_client, prefix="views.")
    assert "No namespaces below this prefix." in tree


def test_a_delimiter_that_is_too_long_is_a_message(admin_client: Client) -> None:
    body = browse(admin_client, delimiter="x" * 11)
    assert "delimiter: Ensure this value has at most 10 characters" in body
    assert 'id="cache-admin-keys"' not in body
    assert "<ul" not in tree_of(admin_client, delimiter="x" * 11)  # the fragment: no tree


def test_the_tree_while_redis_is_down_says_so(admin_client: Client, redis_down: None) -> None:
    tree = tree_of(admin_client, prefix="product:")
    assert 'class="ca-error"' in tree and "Redis" in tree


@pytest.mark.parametrize("prefix", ["a*", "a?", "a[b]", "a\\"])
def test_glob_characters_match_themselves(admin_client: Client, prefix: str) -> None:
    literal = prefix + "x"
    cache.set(literal, 1)
    cache.set("aXbx", 1)
    cache.set("abx", 1)
    body = browse(admin_client, prefix=prefix)
    listing = body.split('id="cache-admin-key-rows"')[1].split("</tbody>")[0]
    assert "aXbx" not in listing and ">abx<" not in listing
    assert key_token(cache.make_key(literal).encode()) in listing


def test_empty_prefix_lists_everything_of_this_site_only(admin_client: Client) -> None:
    cache.set("product:1", 1)
    caches["neighbour"].set("product:secret", 1)
    body = browse(admin_client, prefix="")
    assert "product:1" in body
    assert "secret" not in body


def test_very_long_prefix_is_a_message(admin_client: Client) -> None:
    body = browse(admin_client, prefix="p" * 5000)
    assert "errorlist" in body
    assert "cache-admin-key-rows" not in body


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cursor": "abc"}, "not valid"),
        ({"cursor": "-1"}, "not valid"),
        ({"cursor": "99999999999999999999999"}, "cursor"),
        ({"cursor": "7.5"}, "not valid"),
        ({"page_size": "x"}, "whole number"),
        ({"page_size": "0"}, "greater than or equal to 1"),
        ({"page_size": "100000"}, "less than or equal to 1000"),
        ({"type": "bogus"}, "Select a valid choice"),
    ],
)
def test_bad_paging_parameters_are_messages(
    admin_client: Client, params: dict[str, str], message: str
) -> None:
    cache.set("product:1", 1)
    body = browse(admin_client, prefix="product:", **params)
    assert "errorlist" in body
    assert message in body


def test_type_filter(admin_client: Client, redis_client: redis.Redis) -> None:
    cache.set("product:1", 1)
    redis_client.hset(cache.make_key("product:h"), "f", "v")
    body = browse(admin_client, prefix="product:", type="hash")
    listing = body.split('id="cache-admin-key-rows"')[1].split("</tbody>")[0]
    assert "product:h" in listing
    assert "product:1" not in listing


def test_scan_more_pages_through_everything(admin_client: Client, settings: object) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CONSOLE_SCAN_BUDGET": 50}  # type: ignore[attr-defined]
    client = redis.Redis.from_url(f"{settings.TEST_REDIS_URL}/0")  # type: ignore[attr-defined]
    pipe = client.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"testsite:1:other:{i}", 1)
    pipe.set("testsite:1:rare:1", 1)
    pipe.execute()
    client.close()
    seen = 0
    found = False
    params = {"prefix": "rare:"}
    for _ in range(50):
        response = admin_client.get(reverse("admin:cache_admin_keys_more"), params)
        assert response.status_code == 200
        body = response.content.decode()
        found = found or "rare:1" in body
        seen += 1
        if 'hx-get="' not in body:  # neither "Scan more" nor an automatic step
            break
        query = body.split('hx-get="')[1].split('"')[0].split("?", 1)[1].replace("&amp;", "&")
        params = dict(parse_qsl(query))
    assert found
    assert seen > 1  # the budget made it page: no single request walked everything
    assert "The scan is complete." in body


def test_empty_steps_continue_automatically_then_ask(
    admin_client: Client, settings: object
) -> None:
    settings.CACHE_ADMIN = {  # type: ignore[attr-defined]
        **settings.CACHE_ADMIN,  # type: ignore[attr-defined]
        "CONSOLE_SCAN_BUDGET": 20,
        "CONSOLE_AUTO_SCAN_STEPS": 3,
    }
    client = redis.Redis.from_url(f"{settings.TEST_REDIS_URL}/0")  # type: ignore[attr-defined]
    client.mset({f"testsite:1:other:{i}": 1 for i in range(400)})
    client.close()
    url = reverse("admin:cache_admin_keys_more")
    body = admin_client.get(url, {"prefix": "rare:"}).content.decode()
    steps = []
    while 'id="cache-admin-auto-scan"' in body:
        query = body.split('hx-get="')[1].split('"')[0].split("?", 1)[1].replace("&amp;", "&")
        params = dict(parse_qsl(query))
        steps.append(int(params["auto"]))
        assert "scanning further automatically" in body
        body = admin_client.get(url, params).content.decode()
    # Three automatic steps, each one bounded request, then the user is asked.
    assert steps == [1, 2, 3]
    assert "Scan more" in body and "auto=" not in body.split("Scan more")[0].split("<a")[-1]
    # A bad step count is a form error, not a 500.
    bad = admin_client.get(reverse("admin:cache_admin_keys"), {"prefix": "rare:", "auto": "x"})
    assert bad.status_code == 200


def test_non_utf8_and_script_key_names_are_escaped(
    admin_client: Client, redis_client: redis.Redis
) -> None:
    redis_client.set(b"testsite:1:bin:\xff\xfe", b"v")
    cache.set("bin:<script>alert(1)</script>", "<script>alert(2)</script>")
    body = browse(admin_client, prefix="bin:")
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "bin:\\xff\\xfe" in body
    detail = admin_client.get(
        reverse("admin:cache_admin_key_detail", args=[key_token(b"testsite:1:bin:\xff\xfe")])
    )
    assert detail.status_code == 200
    assert b"bin:\\xff\\xfe" in detail.content


def test_no_match_says_so(admin_client: Client) -> None:
    cache.set("product:1", 1)
    body = browse(admin_client, prefix="nothing:")
    assert "No key of this site starts with “nothing:”." in body


@pytest.mark.parametrize(
    "params",
    [
        {"prefix": "p:", "cursor": "abc"},
        {"prefix": "p:", "cursor": "-5"},
        {"prefix": "p:", "page_size": "0"},
        {"prefix": "p:", "page_size": "many"},
        {"prefix": "p:", "page_size": "99999999"},
        {"prefix": "p:", "auto": "-1"},
    ],
)
def test_scan_more_with_bad_parameters_says_what_is_wrong(
    admin_client: Client, params: dict[str, str]
) -> None:
    response = admin_client.get(reverse("admin:cache_admin_keys_more"), params)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="errorlist"' in body or "ca-error" in body
    assert "Traceback" not in body
