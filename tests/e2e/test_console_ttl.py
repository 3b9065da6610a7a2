"""TTL overrides in Chromium: edit one, and see the effective TTL change on the dashboard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cache_admin import policy
from tests.override_rows import raw_row


def effective(console: Any, type_name: str) -> str:
    row = console.locator(f"#cache-admin-types tr[data-type='{type_name}'] td[data-effective]")
    return str(row.get_attribute("data-effective"))


def test_edit_an_override_and_see_the_dashboard_change(
    console: Any, shot: Callable[[str], Any]
) -> None:
    console.goto(console.url_for("/admin/cache/dashboard/"))
    console.wait_for_selector("#cache-admin-types")
    assert effective(console, "product_detail") == "900"

    console.goto(console.url_for("/admin/cache_admin/ttloverride/"))
    console.wait_for_selector("#cache-admin-ttl-types")
    shot("ttl-changelist")
    console.click("#cache-admin-ttl-types tr[data-type='product_detail'] a:text('Add override')")
    console.wait_for_selector("#id_ttl")
    console.fill("#id_ttl", "0")
    console.click("[name=_save]")
    console.wait_for_selector("text=A TTL is at least 1 second.")
    shot("ttl-add-invalid")
    console.fill("#id_ttl", "120")
    console.click("[name=_save]")
    console.wait_for_selector(
        "#cache-admin-ttl-types tr[data-type='product_detail']:has-text('Change override')"
    )
    shot("ttl-saved")

    console.goto(console.url_for("/admin/cache/dashboard/"))
    console.wait_for_selector("#cache-admin-types")
    console.wait_for_function(
        "() => document.querySelector(\"tr[data-type='product_detail'] td[data-effective]\")"
        ".dataset.effective === '120'"
    )
    assert effective(console, "product_detail") == "120"
    shot("dashboard-after-override")
    assert console.js_errors == []


def test_saving_an_override_refreshes_an_open_dashboard(console: Any, settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CONSOLE_REFRESH_MS": 600_000}
    console.goto(console.url_for("/admin/cache/dashboard/"))
    console.wait_for_selector("#cache-admin-types")
    other = console.context.new_page()
    other.goto(console.url_for("/admin/cache_admin/ttloverride/add/?cache_type=cart"))
    other.fill("#id_ttl", "90")
    with console.expect_response(lambda r: "/admin/cache/dashboard/stats/" in r.url):
        other.click("[name=_save]")
    console.wait_for_function(
        "() => document.querySelector(\"tr[data-type='cart'] td[data-effective]\")"
        ".dataset.effective === '90'"
    )
    other.close()


def test_an_override_out_of_range_shows_as_ignored(
    console: Any, shot: Callable[[str], Any]
) -> None:
    raw_row("search_results", 10**12)  # in through a database that does not check it
    policy.reload()
    console.goto(console.url_for("/admin/cache_admin/ttloverride/"))
    row = console.locator("#cache-admin-ttl-types tr[data-type='search_results']")
    assert "ignored: out of range" in row.inner_text()
    assert "ignored: out of range" in console.locator("#result_list").inner_text()
    shot("ttl-ignored")
    console.goto(console.url_for("/admin/cache/dashboard/"))
    console.wait_for_selector("#cache-admin-types")
    assert effective(console, "search_results") == "600"  # the default is in force
    assert (
        "ignored: out of range"
        in console.locator("#cache-admin-types tr[data-type='search_results']").inner_text()
    )
    shot("dashboard-ignored")
    assert console.js_errors == []
