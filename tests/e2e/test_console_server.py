"""The server page in Chromium: hostile slow-log arguments and client names stay text, the
figures of each part, and the Redis-down banner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.apps import apps

from tests.e2e.test_console_native import breadcrumbs

BUSY_SCRIPT = "local i = 0 while i < 3000000 do i = i + 1 end return i"


@pytest.fixture
def recording(redis_client: redis.Redis) -> Iterator[redis.Redis]:
    before = redis_client.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"]
    redis_client.config_set("slowlog-log-slower-than", 0)
    redis_client.config_set("latency-monitor-threshold", 1)
    redis_client.slowlog_reset()
    redis_client.execute_command("LATENCY", "RESET")
    yield redis_client
    redis_client.config_set("slowlog-log-slower-than", before)
    redis_client.config_set("latency-monitor-threshold", 0)
    redis_client.slowlog_reset()
    redis_client.execute_command("LATENCY", "RESET")


def test_server_page(
    console: Any, shot: Callable[[str], Any], recording: redis.Redis, redis_url: str
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


def test_server_page_with_redis_down(
    console: Any, shot: Callable[[str], Any], settings: Any
) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "KEY_PREFIX": "testsite",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    response = console.goto(console.url_for("/admin/cache/server/"))
    assert response.status == 200
    assert "Redis is not reachable" in console.inner_text("#cache-admin-server-down")
    shot("server-redis-down")
