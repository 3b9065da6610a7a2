"""The key browser in Chromium: browse a prefix, open a key, delete by prefix with confirmation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache

XSS_NAME = "product:<img src=x onerror=window.__xss=1>"
XSS_VALUE = {"name": "<script>window.__xss = 2</script>", "price": 12}


def test_browse_a_prefix_and_open_a_key(console: Any, shot: Callable[[str], Any]) -> None:
    for i in range(5):
        cache.set(f"product:{i}", {"id": i, "name": f"Product {i}"}, 900)
    cache.set("product:list:featured", [1, 2, 3], 300)
    cache.set("category:electronics", {"name": "Electronics"})
    cache.set(XSS_NAME, XSS_VALUE)
    client = redis.Redis.from_url(f"{settings.TEST_REDIS_URL}/0")
    client.set(cache.make_key("product:bytes:").encode() + b"\xff\xfe", b"\x00\x01")
    client.close()

    console.goto(console.url_for("/admin/cache/keys/"))
    console.wait_for_selector(".ca-tree")
    shot("keys-all")
    console.fill("#id_prefix", "product:")
    console.click("form.ca-inline button[type=submit]")
    console.wait_for_selector("#cache-admin-keys")
    listing = console.inner_text("#cache-admin-key-rows")
    assert "product:3" in listing
    assert "category:electronics" not in listing
    assert "product:bytes:\\xff\\xfe" in listing
    # The key name with markup is shown as text and never runs.
    assert "<img src=x onerror=window.__xss=1>" in listing
    assert console.evaluate("window.__xss") is None
    shot("keys-prefix")

    console.click(f"#cache-admin-key-rows a:text-is('{XSS_NAME}')")
    console.wait_for_selector("#cache-admin-value")
    assert "<script>window.__xss = 2</script>" in console.inner_text("#cache-admin-value")
    assert console.evaluate("window.__xss") is None
    shot("key-detail")

    console.fill("#id_ttl", "45")
    console.click("button:text-is('Save TTL')")
    console.wait_for_selector("text=TTL set to 45 s.")
    assert "45 s" in console.inner_text("#cache-admin-ttl") or "44 s" in console.inner_text(
        "#cache-admin-ttl"
    )
    # A negative TTL is stopped by the browser (min=1) before it reaches the server,
    # which refuses it too (tests/console/test_key_detail.py).
    console.fill("#id_ttl", "-3")
    console.click("button:text-is('Save TTL')")
    assert console.eval_on_selector("#id_ttl", "el => el.validationMessage") != ""
    shot("key-detail-bad-ttl")
    assert console.js_errors == []


def test_namespace_tree_with_another_delimiter(console: Any, shot: Callable[[str], Any]) -> None:
    for name in ["template.cache.reco.1", "template.cache.reco.2", "template.cache.nav.x"]:
        cache.set(name, 1)
    console.goto(console.url_for("/admin/cache/keys/"))
    console.fill("#id_delimiter", ".")
    console.click("form.ca-inline button[type=submit]")
    console.click(".ca-tree a:text-is('template.')")
    console.click(".ca-tree a:text-is('cache.')")
    console.wait_for_selector(".ca-tree a:text-is('reco.')")
    assert console.input_value("#id_prefix") == "template.cache."
    assert console.input_value("#id_delimiter") == "."
    assert console.inner_text(".ca-tree li:has(a:text-is('reco.')) .ca-count") == "2"
    assert console.inner_text(".ca-tree li:has(a:text-is('nav.')) .ca-count") == "1"
    shot("keys-tree-dot-delimiter")
    assert console.js_errors == []


def test_delete_by_prefix_with_confirmation(console: Any, shot: Callable[[str], Any]) -> None:
    for i in range(40):
        cache.set(f"search:product:{i}", i)
    cache.set("category:1", 1)
    console.goto(console.url_for("/admin/cache/keys/?prefix=search%3A"))
    console.click("text=Delete everything under")
    console.wait_for_selector("#cache-admin-dry-run")
    assert "40 keys of this site start with “search:”" in console.inner_text("#cache-admin-dry-run")
    assert cache.get("search:product:1") == 1  # the count deleted nothing
    shot("delete-prefix-confirm")
    console.click("button:text-is('Yes, delete 40 keys')")
    console.wait_for_selector("#cache-admin-job-status:has-text('Done: 40 keys deleted.')")
    shot("delete-prefix-done")
    assert cache.get("search:product:1") is None
    assert cache.get("category:1") == 1
    assert console.js_errors == []


def test_scan_more_appends_rows_in_place(
    console: Any, shot: Callable[[str], Any], settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CONSOLE_SCAN_BUDGET": 100}
    client = redis.Redis.from_url(f"{settings.TEST_REDIS_URL}/0")
    pipe = client.pipeline(transaction=False)
    for i in range(600):
        pipe.set(cache.make_key(f"other:{i}"), 1)
    for i in range(30):
        pipe.set(cache.make_key(f"product:{i}"), 1)
    pipe.execute()
    client.close()
    console.goto(console.url_for("/admin/cache/keys/?prefix=product%3A"))
    console.wait_for_selector("#cache-admin-scan-footer")
    # Steps that found nothing continue on their own; wait until the chain settles.
    settled = "() => !document.getElementById('cache-admin-auto-scan')"
    console.wait_for_function(settled)
    pages = 0
    while console.locator("#cache-admin-scan-footer a:text-is('Scan more')").count():
        url = console.url
        # The footer is swapped out of band with each page: wait for the new one.
        console.evaluate("document.getElementById('cache-admin-scan-footer').dataset.old = '1'")
        console.click("#cache-admin-scan-footer a:text-is('Scan more')")
        console.wait_for_function(
            "() => !document.getElementById('cache-admin-scan-footer').dataset.old"
        )
        console.wait_for_function(settled)
        assert console.url == url  # rows appended in place, no navigation
        pages += 1
        assert pages < 50
    assert pages >= 1
    assert console.locator("#cache-admin-key-rows tr").count() == 30
    assert "The scan is complete." in console.inner_text("#cache-admin-scan-footer")
    shot("keys-scanned-to-the-end")
    assert console.js_errors == []
