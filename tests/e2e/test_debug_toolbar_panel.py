"""The debug-toolbar panel in Chromium: a page behind the toolbar, the panel opened from
the toolbar's sidebar, its tables as the request made them, hostile keys shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from tests.toolbar_site import toolbar_settings


@pytest.fixture
def toolbar_server(settings: Any) -> Iterator[LiveServer]:
    """A live server of its own: a server loads its middleware when it starts, and the
    suite's shared one started without the toolbar's."""
    toolbar_settings(settings)
    server = LiveServer("localhost:0")
    yield server
    server.stop()


@pytest.fixture
def shop(toolbar_server: LiveServer, page: Any) -> Any:
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    page.goto(f"{toolbar_server.url}/shop/")
    return page


def test_the_panel_opens_with_this_requests_calls(shop: Any, screenshot: Any) -> None:
    button = shop.locator("#djdt-CacheTypesPanel a")
    assert "6 calls, 2 hits" in button.inner_text()
    button.click()
    panel = shop.locator("#CacheTypesPanel")
    panel.locator("table.cache-admin-types").wait_for()
    assert panel.locator("h3").inner_text() == "Read-through calls by cache type"
    rows = panel.locator("table.cache-admin-types tbody tr")
    assert rows.count() == 3  # two types and the total
    product = rows.filter(has_text="Product detail").locator("td")
    assert [product.nth(i).inner_text() for i in range(4)] == [
        "Product detail (product_detail)",
        "3",
        "1",
        "2",
    ]
    keys = panel.locator("table.cache-admin-calls tbody td code").all_inner_texts()
    assert keys[4] == 'product:<img src=x onerror="alert(1)">&amp;'  # text, not an element
    assert keys[5] == "category:\\u202eevil\\x07"
    assert panel.locator("table.cache-admin-calls img").count() == 0
    screenshot("panel")
    assert shop.js_errors == []
