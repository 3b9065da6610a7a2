"""The dashboard in Chromium: index entry, figures, chart drawn and updated in place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.core.cache import cache

from cache_admin import counters, stats


def test_dashboard(console: Any, shot: Callable[[str], Any], settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CONSOLE_REFRESH_MS": 500}
    cache.set("product:1", {"name": "Laptop"})
    # Three history points with traffic between them, and a poor type to show the hints.
    stats.sample(force=True)
    for _ in range(20):
        cache.get("product:1")
    counters.record("cart", "hits", 10)
    counters.record("cart", "misses", 30)
    for _ in range(60):  # most of its misses with their reason, shown beside the rate
        counters.miss("cart", "absent")
    counters.record("product_detail", "hits", 190)
    counters.record("product_detail", "misses", 10)
    counters.record("category", "misses", 20)  # too few lookups to judge
    counters.flush()
    stats.sample(force=True)
    for _ in range(10):
        cache.get("product:1")
    stats.sample(force=True)
    shot("index")
    if not apps.is_installed("unfold"):
        console.click(".app-cache_admin a:text-is('Dashboard')")
    else:
        console.goto(console.url_for("/admin/cache/dashboard/"))
    console.wait_for_selector("#cache-admin-stats .ca-banner--up")
    assert "Redis is connected." in console.inner_text("#cache-admin-stats")
    assert console.locator("#cache-admin-types tr[data-type]").count() == 7
    # The chart is drawn, and a poll swaps the figures without replacing the canvas.
    console.wait_for_function(
        "() => window.Chart && window.Chart.getChart(document.getElementById('cache-admin-chart'))"
    )
    console.evaluate("document.getElementById('cache-admin-chart').dataset.marker = 'kept'")
    with console.expect_response(lambda r: "/admin/cache/dashboard/stats/" in r.url):
        pass
    console.wait_for_timeout(200)
    assert console.evaluate("document.getElementById('cache-admin-chart').dataset.marker") == "kept"
    text = console.inner_text("#cache-admin-stats")
    assert "Cart data is below 70%" in text
    assert "Missed: absent 67%" in text
    assert "60 of the 90 misses (66.7%) found nothing under the key" in text
    assert "Category data is below 70%" not in text
    assert "too few lookups to judge (100 needed)" in text
    refresh = console.get_by_text("Refreshes every 0.5 seconds while this tab is visible.")
    assert refresh.count() == 1
    assert (
        console.evaluate(
            "window.Chart.getChart(document.getElementById('cache-admin-chart'))"
            ".data.datasets[0].data.length"
        )
        >= 2
    )
    assert console.js_errors == []
    shot("dashboard")


def test_an_action_in_another_tab_refreshes_the_dashboard_at_once(
    console: Any, settings: Any
) -> None:
    # A polling interval far longer than the test: only the action can cause a refresh.
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CONSOLE_REFRESH_MS": 600_000}
    cache.set("search:product:1", 1)
    console.goto(console.url_for("/admin/cache/dashboard/"))
    console.wait_for_selector("#cache-admin-types")
    other = console.context.new_page()
    other.goto(console.url_for("/admin/cache/invalidate/"))
    other.fill("#id_prefix-prefix", "search:")
    with console.expect_response(lambda r: "/admin/cache/dashboard/stats/" in r.url):
        other.click("#invalidate-prefix button[type=submit]")
        # The prefix is deleted by a background job; its end is the change announced.
        other.wait_for_selector("#cache-admin-job-status[data-state=done]")
    other.close()


@pytest.mark.usefixtures("redis_down")
def test_redis_down_shows_a_banner(console: Any, shot: Callable[[str], Any]) -> None:
    response = console.goto(console.url_for("/admin/cache/dashboard/"))
    assert response.status == 200
    assert "Redis is not reachable" in console.inner_text(".ca-banner--down")
    shot("dashboard-redis-down")
    response = console.goto(console.url_for("/admin/cache/keys/?prefix=product%3A"))
    assert response.status == 200
    assert "unreachable" in console.inner_text(".ca-banner--down")
    shot("keys-redis-down")


def test_a_poll_after_signing_out_opens_the_login_page_in_the_tab(
    console: Any, shot: Callable[[str], Any], settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CONSOLE_REFRESH_MS": 500}
    console.goto(console.url_for("/admin/cache/dashboard/"))
    console.wait_for_selector("#cache-admin-stats .ca-banner--up")
    console.context.clear_cookies()  # the session ends (expired, or signed out elsewhere)
    # The next poll answers HX-Redirect: the whole tab goes to the login page, not the
    # login form into the figures' block, and comes back to the dashboard after signing in.
    console.wait_for_url("**/admin/login/?next=/admin/cache/dashboard/")
    assert console.locator("#cache-admin-stats").count() == 0
    assert console.locator("#id_username").count() == 1
    shot("login-after-session-ended")
    console.fill("#id_username", "root")
    console.fill("#id_password", "pw")
    console.click("input[type=submit], button[type=submit]")
    console.wait_for_url(console.url_for("/admin/cache/dashboard/"))
    console.wait_for_selector("#cache-admin-stats .ca-banner--up")
    assert console.js_errors == []


def test_the_time_axis_has_distinct_ticks_for_the_window(
    console: Any, shot: Callable[[str], Any], redis_client: Any
) -> None:
    # Eight minutes of points, one every 5 s: "16:31" once, not eight times.
    import json

    from cache_admin.stats import timeline

    now = redis_client.time()[0]
    points = {}
    for i in range(96):
        at = now - 480 + 5 * i
        point = {"time": at, "hit_rate": 0.9, "ops_per_sec": 10.0, "hits": i, "misses": 0}
        points[json.dumps({**point, "commands": i})] = at
    redis_client.zadd(timeline.history_key(), points)
    console.goto(console.url_for("/admin/cache/dashboard/"))
    console.wait_for_function(
        "() => window.Chart && window.Chart.getChart(document.getElementById('cache-admin-chart'))"
    )
    ticks = console.evaluate(
        "window.Chart.getChart(document.getElementById('cache-admin-chart'))"
        ".scales.x.ticks.map(t => t.label)"
    )
    assert 3 <= len(ticks) <= 8, ticks
    assert len(set(ticks)) == len(ticks), ticks
    assert all(len(label) == 5 and label[2] == ":" for label in ticks), ticks  # HH:MM
    shot("dashboard-chart-ticks")
    assert console.js_errors == []
