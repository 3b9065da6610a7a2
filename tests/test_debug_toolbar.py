"""The django-debug-toolbar panel: real requests through the toolbar's middleware show this
request's calls by cache type, keys escaped; the package works without the toolbar."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings as django_settings
from django.test import AsyncClient, Client

from cache_admin.caching import recorder
from cache_admin.debug_toolbar import summary
from tests.project_support import run_in_project
from tests.toolbar_site import toolbar_settings


@pytest.fixture
def toolbar(settings: Any) -> None:
    toolbar_settings(settings)


def panel_html(content: str) -> str:
    """The panel's own part of a page (the toolbar puts every panel's content in it)."""
    found = re.search(
        r'<div id="CacheTypesPanel".*?<div class="djDebugPanelContent">(.*)', content, re.S
    )
    assert found, "the panel is not in the page"
    return found.group(1).split('<div id="djDebugWindow"')[0]


def type_rows(html: str) -> dict[str, list[str]]:
    table = html.split('class="cache-admin-types">')[1].split("</table>")[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S):
        cells = [
            re.sub(r"\s+", " ", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        rows[cells[0]] = cells[1:]
    return rows


def call_rows(html: str) -> list[list[str]]:
    table = html.split('class="cache-admin-calls">')[1].split("</table>")[0]
    return [
        [re.sub(r"\s+", " ", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    ]


ABSENT = "absent"
HOSTILE_SHOWN = "product:&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp;"


def assert_first_request(html: str) -> None:
    # product:1 miss + hit, the hostile product key a miss; category:1 miss + hit, the
    # control-character key a miss: per type 3 calls, 1 hit, 2 misses (absent), 2 fills.
    rows = type_rows(html)
    for label in ("Product detail (product_detail)", "Category data (category)"):
        calls, hits, misses, reasons, waits, fills, errors = rows[label][:7]
        assert (calls, hits, misses, reasons, waits, fills, errors) == (
            "3",
            "1",
            "2",
            f"{ABSENT}: 2",
            "0",
            "2",
            "0",
        ), label
    assert rows["All types"][:3] == ["6", "2", "4"]
    calls = call_rows(html)
    assert [(row[1], row[3]) for row in calls] == [
        ("<code>product:1</code>", "miss"),
        ("<code>product:1</code>", "hit"),
        ("<code>category:1</code>", "miss"),
        ("<code>category:1</code>", "hit"),
        (f"<code>{HOSTILE_SHOWN}</code>", "miss"),
        ("<code>category:\\u202eevil\\x07</code>", "miss"),
    ]
    assert [row[5] for row in calls] == ["yes", "-", "yes", "-", "yes", "yes"]
    # The legend explains the reasons that occurred, and only those.
    assert "<dt>absent</dt>" in html and "<dt>lease wait</dt>" not in html


def test_the_summary_counts_each_outcome_and_reason() -> None:
    calls = [
        recorder.Call(
            "product:1",
            "product_detail",
            recorder.MISS,
            recorder.LEASE_WAIT,
            wait_ms=4.0,
            total_ms=5.0,
        ),
        recorder.Call(
            "product:2",
            "product_detail",
            recorder.MISS,
            recorder.INVALIDATED,
            computed=True,
            filled=True,
            compute_ms=2.0,
            total_ms=3.0,
        ),
        recorder.Call(
            "product:3",
            "product_detail",
            recorder.EARLY_REFRESH,
            computed=True,
            filled=True,
            total_ms=1.0,
        ),
        recorder.Call("x", "", recorder.UNREACHABLE, errors=1, computed=True, total_ms=1.0),
        # Made inside product:2's function: counted for its type, not twice in the total.
        recorder.Call("category:1", "category", recorder.HIT, total_ms=0.5, depth=1),
    ]
    stats = summary(calls)
    untyped, category, product = stats["types"]
    assert untyped["label"] == "(no type)" and untyped["errors"] == 1
    assert {k: product[k] for k in ("calls", "hits", "misses", "lease_waits", "fills")} == {
        "calls": 3,
        "hits": 1,
        "misses": 2,
        "lease_waits": 1,
        "fills": 2,
    }
    assert product["reasons"] == [
        {"reason": "invalidated", "count": 1},
        {"reason": "lease wait", "count": 1},
    ]
    assert (product["wait_ms"], product["compute_ms"], product["total_ms"]) == (4.0, 2.0, 9.0)
    assert category["total_ms"] == 0.5
    assert (stats["total"]["calls"], stats["total"]["total_ms"]) == (5, 10.0)
    assert [item["reason"] for item in stats["reasons"]] == ["invalidated", "lease wait"]
    json.dumps(stats)  # the toolbar stores panel stats as JSON


def test_a_request_shows_its_calls_by_type_with_keys_escaped(client: Client, toolbar: None) -> None:
    response = client.get("/shop/")
    content = response.content.decode()
    html = panel_html(content)
    assert_first_request(html)
    # Hostile bytes are inert: no tag, no raw bidi override or bell reaches the page.
    assert "<img src=x" not in content and 'onerror="' not in content
    assert "\u202e" not in content and "\x07" not in content
    assert re.search(r"Cache types.*?6 calls, 2 hits, [\d.]+ ms", content, re.S)
    assert response["X-Recorder-Active"] == "1"
    assert re.search(
        r'CacheTypesPanel_total_time;dur=[\d.]+;desc="Cache types 6 calls"',
        response["Server-Timing"],
    )
    assert recorder.active == 0  # closed with the request

    # The next request has a record of its own: everything is a hit now.
    html = panel_html(client.get("/shop/").content.decode())
    assert type_rows(html)["All types"][:4] == ["6", "6", "0", "-"]


def test_panel_content_loaded_from_the_toolbar_store(
    client: Client, toolbar: None, settings: Any
) -> None:
    """Without RENDER_PANELS the toolbar stores the stats as JSON and renders the panel
    when it is opened: the same table comes back."""
    settings.DEBUG_TOOLBAR_CONFIG = {**settings.DEBUG_TOOLBAR_CONFIG, "RENDER_PANELS": False}
    content = client.get("/shop/").content.decode()
    request_id = re.search(r'data-request-id="([^"]+)"', content)
    assert request_id, "no request id in the toolbar"
    assert 'class="cache-admin-types"' not in content
    answer = client.get(
        "/__debug__/render_panel/",
        {"request_id": request_id.group(1), "panel_id": "CacheTypesPanel"},
    )
    assert answer.status_code == 200
    assert_first_request(json.loads(answer.content)["content"])


def test_asgi_request_with_a_sync_view(toolbar: None) -> None:
    """Under ASGI the toolbar opens the record in the request's task; the sync view runs in
    a thread (sync_to_async copies the context) and its calls land in that record."""
    response = async_to_sync(AsyncClient().get)("/shop/")
    assert_first_request(panel_html(response.content.decode()))


def test_without_the_toolbar_for_a_request_nothing_is_recorded(
    client: Client, toolbar: None
) -> None:
    response = client.get("/shop/", {"toolbar": "off"})
    assert response["X-Recorder-Active"] == "0"
    assert b"CacheTypesPanel" not in response.content


def test_the_package_works_without_the_toolbar_and_the_panel_says_what_to_install(
    tmp_path: Path,
) -> None:
    project_settings = f"""
        import sys
        sys.modules["debug_toolbar"] = None  # as if django-debug-toolbar were not installed

        SECRET_KEY = "tests"
        USE_TZ = True
        INSTALLED_APPS = [
            "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
            "django.contrib.sessions", "django.contrib.messages", "cache_admin",
        ]
        DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}}
        CACHES = {{"default": {{
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "{django_settings.TEST_REDIS_URL}/0",
            "KEY_PREFIX": "no_toolbar",
        }}}}
        """
    script = """
        from cache_admin import cache_result
        from cache_admin.caching import recorder

        try:
            import debug_toolbar
        except ImportError:
            pass
        else:
            raise AssertionError("debug_toolbar should not import here")

        @cache_result(timeout=60, key_prefix="no_toolbar")
        def square(n):
            return n * n

        with recorder.recording() as calls:
            assert square(4) == 16 and square(4) == 16
        assert [c.outcome for c in calls] == ["miss", "hit"], calls
        try:
            import cache_admin.debug_toolbar
        except ImportError as exc:
            print("error:", exc)
        else:
            raise AssertionError("the panel module imported without the toolbar")
        """
    out = run_in_project(tmp_path, project_settings, script)
    assert (
        "error: cache_admin.debug_toolbar needs django-debug-toolbar: pip install "
        '"django-cache-admin[debug-toolbar]"'
    ) in out


@pytest.mark.django_db
def test_a_request_without_lookups_says_so(client: Client, toolbar: None) -> None:
    content = client.get("/admin/login/").content.decode()
    assert "No read-through lookup" in panel_html(content)
    assert re.search(r"Cache types.*?0 calls, 0 hits, 0.00 ms", content, re.S)
