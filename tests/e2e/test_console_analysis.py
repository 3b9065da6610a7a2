"""The Analysis page in Chromium: start from the form, a progress bar any tab follows, the
tab moves to the report when the job ends, charts drawn; cancel from the page."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.core.cache import cache

from cache_admin import counters
from tests.e2e.test_console_native import breadcrumbs

CHART_DRAWN = "(id) => !!(window.Chart && window.Chart.getChart(document.getElementById(id)))"
# What is wider than its place: the page itself, or a table in a sideways-scrolling box.
OVERFLOWING = """() => [
  ...(document.documentElement.scrollWidth > window.innerWidth ? ["page"] : []),
  ...[...document.querySelectorAll("#cache-admin .ca-scroll")]
    .filter((box) => box.scrollWidth > box.clientWidth)
    .map((box) => box.querySelector("table").id),
]"""


def seed() -> None:
    for i in range(300):
        cache.set(f"product:{i}", {"name": f"Laptop {i}", "notes": "x" * (i * 10)}, timeout=600)
    for i in range(40):
        cache.set(f"product:list:{i:032x}", list(range(50)), timeout=None)  # leaks
    for i in range(60):
        cache.set(f"cart:user:{i}", {"items": [1, 2, 3]}, timeout=30)
    cache.set("search:<script>window.hacked=1</script>", "x" * 20_000, timeout=40_000)
    counters.record("product_detail", "hits", 180)
    counters.record("product_detail", "misses", 20)
    counters.record("cart", "hits", 10)
    counters.record("cart", "misses", 140)
    counters.flush()


def test_analysis_from_start_to_report(
    console: Any,
    shot: Callable[[str], Any],
    settings: Any,
    held_analysis: tuple[threading.Event, threading.Event],
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 50}
    seed()
    if not apps.is_installed("unfold"):
        console.click(".app-cache_admin a:text-is('Analysis')")
    else:
        console.goto(console.url_for("/admin/cache/analysis/"))
    console.wait_for_selector("#cache-admin-analysis-form")
    assert breadcrumbs(console)[-2:] == ["Cache", "Keyspace analysis"]
    assert "No analysis has been run yet." in console.inner_text("#cache-admin")
    shot("analysis-empty")
    reached, release = held_analysis
    console.click("#cache-admin-analysis-form button[type=submit]")
    console.wait_for_selector("#cache-admin-analysis-progress progress")
    assert reached.wait(30)
    # The page may have been drawn before the first batch ("Starting…"): a poll brings it.
    console.wait_for_selector("#cache-admin-analysis-progress :text('Node 1 of 1')")
    assert console.locator("#cache-admin-analysis-cancel button").count() == 1
    assert breadcrumbs(console)[-3:-1] == ["Cache", "Analysis"]
    shot("analysis-progress")
    release.set()
    # The polling block sends the tab to the report once the job has ended.
    console.wait_for_selector("#cache-admin-analysis-report[data-status=done]")
    for chart in ("cache-admin-analysis-memory-chart", "cache-admin-analysis-ttl-chart"):
        console.wait_for_function(CHART_DRAWN, arg=chart)
    text = console.inner_text("#cache-admin")
    assert "Product list: 40 keys have no expiry" in text
    assert "Search results: 1 key has more time left" in text
    assert console.locator("#cache-admin-analysis-types tr[data-type=cart] .ca-level--poor").count()
    biggest = console.locator("#cache-admin-analysis-biggest").inner_text()
    assert "search:<script>window.hacked=1</script>" in biggest  # shown as text
    assert console.evaluate("window.hacked") is None
    assert console.js_errors == []
    # Every column of the report is in view at 1280 px, in both admin flavours.
    assert console.evaluate(OVERFLOWING) == []
    shot("analysis-report")
    console.click("#cache-admin-analysis-biggest a:has-text('search:')")
    console.wait_for_selector("#cache-admin-value")
    shot("analysis-key-detail")


def test_cancel_from_the_page(
    console: Any,
    shot: Callable[[str], Any],
    settings: Any,
    held_analysis: tuple[threading.Event, threading.Event],
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 50}
    seed()
    console.goto(console.url_for("/admin/cache/analysis/"))
    reached, release = held_analysis
    console.click("#cache-admin-analysis-form button[type=submit]")
    assert reached.wait(30)
    console.wait_for_selector("#cache-admin-analysis-cancel")
    console.click("#cache-admin-analysis-cancel button")
    console.wait_for_selector("text=Cancelling: the analysis stops after its current batch.")
    release.set()
    console.wait_for_selector("#cache-admin-analysis-cancelled")
    assert "cancelled" in console.inner_text("#cache-admin-analysis-history").lower()
    assert console.js_errors == []
    shot("analysis-cancelled")
