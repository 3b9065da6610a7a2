"""The key browser's ids collapsed, sorted pages, selection delete, back links and find-all."""

from __future__ import annotations

import re

import pytest
import redis
from django.contrib.auth.models import User
from django.core.cache import cache, caches
from django.test import Client
from django.urls import reverse

from cache_admin import audit
from cache_admin.keyspace import find_all, key_token
from cache_admin.keyspace.actions import MAX_SELECTION
from cache_admin.models import AuditEntry
from tests.console.conftest import grant

KEYS = reverse("admin:cache_admin_keys")
DELETE = reverse("admin:cache_admin_keys_delete")


def token(logical: str) -> str:
    return key_token(cache.make_key(logical).encode())


def listing(body: str, table: str = "cache-admin-key-rows") -> list[str]:
    rows = body.split(f'id="{table}"')[1].split("</tbody>")[0]
    return re.findall(r'class="ca-key"><a href="[^"]*">([^<]*)</a>', rows)


def messages_of(client: Client, url: str) -> str:
    return client.get(url).content.decode()


def test_ids_collapse_into_one_node_that_opens(admin_client: Client) -> None:
    for i in range(40):
        cache.set(f"product:{1000 + i}:detail", i)
    cache.set("product:list:1", 1)
    page = admin_client.get(KEYS, {"prefix": "product:"}).content.decode()
    assert 'hx-get="/admin/cache/keys/tree/?prefix=product%3A"' in page
    tree = admin_client.get(reverse("admin:cache_admin_keys_tree"), {"prefix": "product:"})
    tree = tree.content.decode()
    assert '&lt;id&gt;:</a> <span class="ca-count">40</span>' in tree
    assert "1000:" not in tree and "1039:" not in tree  # no namespace per product
    assert "?prefix=product%3A%3Cid%3E%3A" in tree
    opened = admin_client.get(KEYS, {"prefix": "product:<id>:"}).content.decode()
    assert sorted(listing(opened)) == sorted(f"product:{1000 + i}:detail" for i in range(40))
    # A prefix with ids is not a literal prefix: deleting "under" it is not offered.
    assert "Delete everything under" not in opened
    assert "Find all under" in opened


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("key", ["s:a", "s:b", "s:c"]),
        ("-key", ["s:c", "s:b", "s:a"]),
        ("ttl", ["s:b", "s:c", "s:a"]),  # 50 s, 500 s, no expiry
        ("-ttl", ["s:a", "s:c", "s:b"]),
        ("size", ["s:c", "s:a", "s:b"]),
        ("-size", ["s:b", "s:a", "s:c"]),
    ],
)
def test_sorting_the_page(
    admin_client: Client, redis_client: redis.Redis, sort: str, expected: list[str]
) -> None:
    redis_client.set(cache.make_key("s:a"), b"x" * 200)
    redis_client.set(cache.make_key("s:b"), b"x" * 5000, ex=50)
    redis_client.set(cache.make_key("s:c"), b"x", ex=500)
    body = admin_client.get(KEYS, {"prefix": "s:", "sort": sort}).content.decode()
    assert listing(body) == expected
    # The column links keep the prefix and sort the other way when clicked again.
    column = sort.lstrip("-")
    link = body.split(f'id="cache-admin-sort-{column}"')[0].rsplit('href="?', 1)[1]
    assert "prefix=s%3A" in link
    assert f"sort={column}" in link if sort.startswith("-") else f"sort=-{column}" in link


@pytest.mark.parametrize("sort", ["bogus", "key;drop", "-", "x" * 500])
def test_a_bad_sort_is_a_message(admin_client: Client, sort: str) -> None:
    response = admin_client.get(KEYS, {"prefix": "s:", "sort": sort})
    assert response.status_code == 200
    assert "sort: Select a valid choice" in response.content.decode()


def test_the_footer_counts_a_full_page_of_the_documented_size(
    admin_client: Client, redis_client: redis.Redis
) -> None:
    redis_client.mset({cache.make_key(f"p:{i}"): 1 for i in range(277)})
    body = admin_client.get(KEYS, {"prefix": "p:"}).content.decode()
    assert len(listing(body)) == 100
    assert "100 keys on this page" in body


def test_select_confirm_delete_audit_and_back(admin_client: Client, superuser: User) -> None:
    for name in ("sel:1", "sel:2", "sel:3"):
        cache.set(name, 1)
    back = f"{KEYS}?prefix=sel%3A&sort=-key"
    chosen = [token("sel:1"), token("sel:2")]
    confirm = admin_client.post(DELETE, {"key": chosen, "back": back})
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Delete these 2 keys now?" in page and "sel:1" in page and "sel:2" in page
    assert cache.get("sel:1") == 1  # the confirmation deletes nothing
    done = admin_client.post(DELETE, {"key": chosen, "back": back, "confirm": "yes"})
    assert done.status_code == 302 and done["Location"] == back
    assert cache.get("sel:1") is None and cache.get("sel:2") is None and cache.get("sel:3") == 1
    entry = AuditEntry.objects.get(action="delete_keys")
    assert entry.user == superuser and entry.keys_affected == 2
    assert entry.detail["keys"] == ["sel:1", "sel:2"]
    assert "Deleted 2 keys." in messages_of(admin_client, back)
    # Again: they are gone, and the message says so.
    admin_client.post(DELETE, {"key": chosen, "confirm": "yes"})
    assert "Deleted 0 keys. 2 were already gone." in messages_of(admin_client, KEYS)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([], "No key was selected."),
        (["not base64!"], "unexpected characters"),
        ([key_token(b"othersite:1:sel:1")], "outside this site"),
        ([key_token(b"x" * 10)], "outside this site"),
    ],
)
def test_a_bad_selection_deletes_nothing(
    admin_client: Client, redis_client: redis.Redis, keys: list[str], message: str
) -> None:
    cache.set("sel:1", 1)
    redis_client.set(b"othersite:1:sel:1", b"1")
    response = admin_client.post(DELETE, {"key": [token("sel:1"), *keys], "confirm": "yes"})
    if not keys:  # the only key sent was a good one: this one deletes
        assert cache.get("sel:1") is None
        return
    assert response.status_code == 302
    assert cache.get("sel:1") == 1 and redis_client.get(b"othersite:1:sel:1") == b"1"
    assert message in messages_of(admin_client, response["Location"])
    assert not AuditEntry.objects.filter(action="delete_keys").exists()


def test_an_empty_selection_is_a_message(admin_client: Client) -> None:
    response = admin_client.post(DELETE, {"confirm": "yes"})
    assert response.status_code == 302
    assert "No key was selected." in messages_of(admin_client, response["Location"])


def test_a_huge_selection_is_refused(admin_client: Client) -> None:
    cache.set("sel:1", 1)
    chosen = [token("sel:1")] + [token(f"sel:x{i}") for i in range(MAX_SELECTION)]
    response = admin_client.post(DELETE, {"key": chosen, "confirm": "yes"})
    assert cache.get("sel:1") == 1
    body = messages_of(admin_client, response["Location"])
    assert f"{MAX_SELECTION + 1:,} keys were selected; at most {MAX_SELECTION:,}" in body


def test_selection_needs_the_delete_permission(staff: User) -> None:
    cache.set("sel:1", 1)
    browse_only = Client()
    browse_only.force_login(grant(staff, audit.BROWSE_KEYS))
    page = browse_only.get(KEYS, {"prefix": "sel:"}).content.decode()
    assert 'name="key"' not in page and "cache-admin-delete-selected" not in page
    response = browse_only.post(DELETE, {"key": [token("sel:1")], "confirm": "yes"})
    assert response.status_code == 403 and cache.get("sel:1") == 1
    assert browse_only.get(DELETE).status_code in (403, 405)
    deleter = Client()
    deleter.force_login(grant(staff, audit.DELETE_KEYS))
    page = deleter.get(KEYS, {"prefix": "sel:"}).content.decode()
    assert f'value="{token("sel:1")}" form="cache-admin-select"' in page
    assert deleter.get(DELETE).status_code == 405
    response = deleter.post(DELETE, {"key": [token("sel:1")], "confirm": "yes"})
    assert response.status_code == 302 and cache.get("sel:1") is None


@pytest.mark.parametrize(
    "bad",
    [
        "https://evil.example/admin/",
        "//evil.example/admin/",
        "/\\evil.example/admin/",
        "javascript:alert(1)",
        "/not-the-admin/",
        "/admin/\r\nLocation: https://evil.example/",
        "/admin/" + "x" * 3000,
    ],
)
def test_back_links_stay_in_the_admin(admin_client: Client, bad: str) -> None:
    cache.set("b:1", 1)
    url = reverse("admin:cache_admin_key_detail", args=[token("b:1")])
    body = admin_client.get(url, {"back": bad}).content.decode()
    assert f'href="{KEYS}" id="cache-admin-back"' in body
    deleted = admin_client.post(
        reverse("admin:cache_admin_key_delete", args=[token("b:1")]), {"back": bad}
    )
    assert deleted["Location"] == KEYS


def test_key_detail_links_back_to_the_page_it_came_from(admin_client: Client) -> None:
    cache.set("b:1", 1)
    body = admin_client.get(KEYS, {"prefix": "b:", "sort": "ttl"}).content.decode()
    link = re.search(r'href="([^"]*/keys/k/[^"]*)"', body)
    assert link is not None
    detail = admin_client.get(link[1].replace("&amp;", "&")).content.decode()
    back = re.search(r'href="([^"]*)" id="cache-admin-back"', detail)
    assert back is not None
    assert back[1].replace("&amp;", "&") == f"{KEYS}?prefix=b%3A&cursor=0&sort=ttl"
    ttl = admin_client.post(
        reverse("admin:cache_admin_key_ttl", args=[token("b:1")]),
        {"ttl": "60", "back": f"{KEYS}?prefix=b%3A"},
    )
    assert ttl["Location"].endswith("?back=%2Fadmin%2Fcache%2Fkeys%2F%3Fprefix%3Db%253A")
    gone = admin_client.post(
        reverse("admin:cache_admin_key_delete", args=[token("b:1")]),
        {"back": f"{KEYS}?prefix=b%3A"},
    )
    assert gone["Location"] == f"{KEYS}?prefix=b%3A"


@pytest.mark.django_db(transaction=True)
def test_find_all_streams_every_key_into_the_browser(
    admin_client: Client, redis_client: redis.Redis, settings: object, staff: User
) -> None:
    settings.CACHE_ADMIN = {  # type: ignore[attr-defined]
        **settings.CACHE_ADMIN,  # type: ignore[attr-defined]
        "SCAN_COUNT": 100,
        "CONSOLE_SCAN_BUDGET": 200,
    }
    redis_client.mset({cache.make_key(f"other:{i}"): 1 for i in range(3000)})
    rare = sorted(f"rare:{i}" for i in range(9))
    redis_client.mset({cache.make_key(name): 1 for name in rare})
    page = admin_client.get(KEYS, {"prefix": "rare:"}).content.decode()
    assert "cache-admin-find-all" in page
    started = admin_client.post(reverse("admin:cache_admin_keys_find"), {"prefix": "rare:"})
    assert started.status_code == 302
    job_id = started["Location"].split("find=")[1]
    assert find_all.join(job_id, 60)
    entry = AuditEntry.objects.get(action="find_keys")
    assert entry.target == "rare:" and entry.detail["job"] == job_id
    # Another member of staff who may browse keys follows the same search.
    other = Client()
    other.force_login(grant(staff, audit.BROWSE_KEYS))
    body = other.get(started["Location"]).content.decode()
    assert sorted(listing(body, "cache-admin-found-rows")) == rare
    assert "Done: 9 keys under “rare:” in the whole keyspace." in body
    assert 'data-state="done"' in body and "cache-admin-find-poll" not in body
    # The polling fragment sends the keys from an offset, and no further poll once done.
    url = reverse("admin:cache_admin_keys_found", args=[job_id])
    fragment = other.get(url, {"offset": "4"}).content.decode()
    assert len(re.findall(r"<tr>", fragment)) == 5 and 'hx-swap-oob="true"' in fragment
    assert "cache-admin-find-poll" not in fragment
    for offset in ["-1", "x", "999999999999", ""]:
        assert other.get(url, {"offset": offset}).status_code == 200


def test_find_all_start_refuses_bad_input(admin_client: Client) -> None:
    for prefix in ["", "p" * 1001]:
        response = admin_client.post(reverse("admin:cache_admin_keys_find"), {"prefix": prefix})
        assert response.status_code == 302
        body = messages_of(admin_client, response["Location"])
        assert "The search did not start:" in body
    assert find_all.running() is None
    assert admin_client.get(reverse("admin:cache_admin_keys_find")).status_code == 405


@pytest.mark.parametrize("job", ["nope", "A" * 32, "<script>", "b" * 32])
def test_an_unknown_or_forged_search_is_a_note(admin_client: Client, job: str) -> None:
    response = admin_client.get(KEYS, {"prefix": "x:", "find": job})
    assert response.status_code == 200
    body = response.content.decode()
    if job == "b" * 32:
        assert "This search is unknown or has expired" in body
    else:
        assert "find: Enter a valid value." in body
    fragment = admin_client.get(reverse("admin:cache_admin_keys_found", args=["b" * 32]))
    assert "This search is unknown or has expired" in fragment.content.decode()
    cancel = admin_client.post(reverse("admin:cache_admin_keys_find_cancel", args=["b" * 32]))
    assert "That search is not running any more." in messages_of(admin_client, cancel["Location"])


def test_a_search_while_redis_is_down_is_a_banner(admin_client: Client, redis_down: None) -> None:
    response = admin_client.post(reverse("admin:cache_admin_keys_find"), {"prefix": "rare:"})
    assert response.status_code == 302
    assert "The search did not start:" in messages_of(admin_client, response["Location"])
    followed = admin_client.get(KEYS, {"prefix": "rare:", "find": "b" * 32})
    page = followed.content.decode()
    assert followed.status_code == 200 and "Redis" in page and "Trying again" in page
    fragment = admin_client.get(reverse("admin:cache_admin_keys_found", args=["b" * 32]))
    body = fragment.content.decode()
    assert (
        fragment.status_code == 200 and "Trying again" in body and "cache-admin-find-poll" in body
    )


def test_neighbour_keys_are_never_listed_or_found(admin_client: Client) -> None:
    caches["neighbour"].set("rare:secret", 1)
    body = admin_client.get(KEYS, {"prefix": "rare:"}).content.decode()
    assert "secret" not in body
