"""The key browser in Chromium: ids collapsed, a sorted page, a selection deleted after
confirmation, a key's way back, and a find-all search followed and cancelled."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache

from cache_admin.keyspace import find_all


def fill(names: dict[str, int | None]) -> None:
    """Keys with TTLs (None: no expiry), written in one round trip."""
    client = redis.Redis.from_url(f"{settings.TEST_REDIS_URL}/0")
    pipe = client.pipeline(transaction=False)
    for name, ttl in names.items():
        pipe.set(cache.make_key(name), b"x" * (10 + len(name)), ex=ttl)
    pipe.execute()
    client.close()


def exists(name: str) -> bool:
    client = redis.Redis.from_url(f"{settings.TEST_REDIS_URL}/0")
    try:
        return bool(client.exists(cache.make_key(name)))
    finally:
        client.close()


def test_ids_sorting_and_deleting_a_selection(console: Any, shot: Callable[[str], Any]) -> None:
    fill({f"product:{1000 + i}:detail": 60 * (i + 1) for i in range(30)})
    fill({"product:list:featured": None, "product:list:new": 30})
    console.goto(console.url_for("/admin/cache/keys/?prefix=product%3A"))
    console.wait_for_selector(".ca-tree a:text-is('<id>:')")
    assert console.inner_text(".ca-tree li:has(a:text-is('<id>:')) .ca-count") == "30"
    assert console.locator(".ca-tree a:text-is('1000:')").count() == 0
    shot("keys-ids-collapsed")

    console.click(".ca-tree a:text-is('<id>:')")
    console.wait_for_selector("#cache-admin-key-rows tr")
    assert console.input_value("#id_prefix") == "product:<id>:"
    assert console.locator("#cache-admin-key-rows tr").count() == 30
    console.click("#cache-admin-sort-ttl")
    console.wait_for_url("**sort=ttl**")
    first = console.inner_text("#cache-admin-key-rows tr:first-child td.ca-key a")
    assert first == "product:1000:detail"  # 60 s: the shortest TTL first
    console.click("#cache-admin-sort-ttl")
    console.wait_for_url("**sort=-ttl**")
    first = console.inner_text("#cache-admin-key-rows tr:first-child td.ca-key a")
    assert first == "product:1029:detail"
    shot("keys-sorted-by-ttl")

    console.check("#cache-admin-key-rows tr:nth-child(1) input[type=checkbox]")
    console.check("#cache-admin-key-rows tr:nth-child(2) input[type=checkbox]")
    console.click("#cache-admin-delete-selected")
    console.wait_for_selector("#cache-admin-selected")
    assert console.locator("#cache-admin-selected li").count() == 2
    assert exists("product:1029:detail")  # the confirmation deletes nothing
    shot("keys-delete-selection-confirm")
    console.click("#cache-admin-confirm-delete")
    console.wait_for_selector("text=Deleted 2 keys.")
    assert "sort=-ttl" in console.url  # back where the selection was made
    assert not exists("product:1029:detail") and not exists("product:1028:detail")
    assert exists("product:1027:detail")
    shot("keys-selection-deleted")
    assert console.js_errors == []


def test_find_all_streams_the_rare_keys_and_a_key_links_back(
    console: Any, shot: Callable[[str], Any], settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CONSOLE_SCAN_BUDGET": 200, "SCAN_COUNT": 100}
    fill({f"other:{i}": None for i in range(4000)})
    fill({f"rare:{i}": 600 for i in range(9)})
    console.goto(console.url_for("/admin/cache/keys/?prefix=rare%3A"))
    console.click("#cache-admin-find-all")
    console.wait_for_selector("#cache-admin-find-state[data-state=done]")
    console.wait_for_function(
        "() => document.querySelectorAll('#cache-admin-found-rows tr').length === 9"
    )
    assert "Done: 9 keys under “rare:” in the whole keyspace." in console.inner_text(
        "#cache-admin-find-state"
    )
    shot("keys-find-all-done")
    found_url = console.url
    console.click("#cache-admin-found-rows a:text-is('rare:3')")
    console.wait_for_selector("#cache-admin-back")
    shot("key-detail-with-back-link")
    console.click("#cache-admin-back")
    console.wait_for_selector("#cache-admin-find-state[data-state=done]")
    assert console.url == found_url
    assert console.js_errors == []


def test_a_search_is_cancelled_from_the_page(
    console: Any,
    shot: Callable[[str], Any],
    settings: Any,
    held_search: tuple[threading.Event, threading.Event],
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 50}
    fill({f"product:{i}": None for i in range(2000)})
    reached, release = held_search
    console.goto(console.url_for("/admin/cache/keys/?prefix=product%3A"))
    console.click("#cache-admin-find-all")
    assert reached.wait(30)
    console.wait_for_selector("#cache-admin-find-state[data-state=running]")
    console.wait_for_selector("#cache-admin-found-rows tr")
    shot("keys-find-all-running")
    console.click("#cache-admin-find-cancel")
    console.wait_for_selector("text=The search stops after its current batch.")
    release.set()
    console.wait_for_selector("#cache-admin-find-state[data-state=cancelled]")
    found = int(console.get_attribute("#cache-admin-find-state", "data-found") or 0)
    assert 0 < found < 2000
    status = find_all.status(console.url.split("find=")[1])
    assert status is not None and status.state == find_all.CANCELLED
    shot("keys-find-all-cancelled")
    assert console.js_errors == []
