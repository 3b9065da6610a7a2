"""The server page in Chromium: hostile slow-log arguments and client names stay text, the
figures of each part, and the Redis-down banner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.apps import apps

from tests.e2e.test_console_native import breadcrumbs
from tests.redis_fixtures import BUSY_SCRIPT


def test_server_page(
    console: Any, shot: Callable[[str], Any], recording_server: redis.Redis, redis_url: str
) -> None:
    hostile = redis.Redis.from_url(redis_url)
    hostile.client_setname("<script>window.named=1</script>")
    hostile.set("<script>window.hacked=1</script>", "<img src=x onerror=window.imaged=1>")
    hostile.eval(BUSY_SCRIPT, 0)
    try:
        if not apps.is_installed("unfold"):
            console.click(".app-cache_admin a:text-is('Server')")
        else:
            console.goto(console.url_for("/admin/cache/server/"))
        console.wait_for_selector(".ca-slowlog table")
    finally:
        hostile.close()
    assert breadcrumbs(console)[-2:] == ["Cache", "Redis server"]
    slow = console.inner_text(".ca-slowlog")
    assert "<script>window.hacked=1</script>" in slow
    assert "<img src=x onerror=window.imaged=1>" in slow
    assert "<script>window.named=1</script>" in slow
    assert "EVAL" in slow
    clients = console.inner_text(".ca-clients")
    assert "<script>window.named=1</script>" in clients
    assert console.evaluate("[window.hacked, window.named, window.imaged]") == [None, None, None]
    assert console.locator("[data-part=commands-calls] tr[data-command]").count() >= 3
    assert "command" in console.inner_text("[data-part=latency]")
    assert console.js_errors == []
    shot("server")


@pytest.mark.usefixtures("redis_down")
def test_server_page_with_redis_down(console: Any, shot: Callable[[str], Any]) -> None:
    response = console.goto(console.url_for("/admin/cache/server/"))
    assert response.status == 200
    assert "Redis is not reachable" in console.inner_text("#cache-admin-server-down")
    shot("server-redis-down")
