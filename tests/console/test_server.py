"""The server page: per visitor (S1), hostile slow-log arguments and client names shown
inert, arguments only for staff who may browse keys, bounded parts, Redis down."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.test import Client
from django.urls import reverse

from cache_admin import audit
from tests.console.conftest import VISITORS, grant

URL = "/admin/cache/server/"
HOSTILE = "<script>alert('x')</script>"


def test_url_name() -> None:
    assert reverse("admin:cache_admin_server") == URL


@pytest.mark.parametrize("kind", VISITORS)
def test_page_per_visitor(visitor: Callable[[str, str], Client], kind: str) -> None:
    response = visitor(kind, audit.VIEW_DASHBOARD).get(URL)
    expected = {"anonymous": 302, "staff_without": 403, "staff_with": 200, "superuser": 200}
    assert response.status_code == expected[kind]
    if kind == "anonymous":
        assert response["Location"].startswith(reverse("admin:login"))
    if response.status_code == 200:
        assert b"Slow log" in response.content and b"Top commands" in response.content


def test_hostile_arguments_and_client_names_are_inert(
    admin_client: Client, recording_server: redis.Redis, redis_url: str
) -> None:
    named = redis.Redis.from_url(redis_url)
    named.client_setname("<script>alert(1)</script>")
    named.set(HOSTILE, "<img src=x onerror=alert(2)>")
    try:
        response = admin_client.get(URL)
    finally:
        named.close()
    body = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body  # the key, as text
    assert "&lt;img src=x onerror=alert(2)&gt;" in body  # the value
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body  # the client's name


def test_arguments_need_the_browse_permission(staff: Any, recording_server: redis.Redis) -> None:
    recording_server.set("secret:key", "secret value")
    client = Client()
    client.force_login(grant(staff, audit.VIEW_DASHBOARD))
    body = client.get(URL).content.decode()
    assert "secret value" not in body and "secret:key" not in body
    assert "Arguments (key names and values) are shown to staff who may browse keys." in body
    assert "(2 arguments)" in body
    client.force_login(grant(staff, audit.VIEW_DASHBOARD, audit.BROWSE_KEYS))
    assert "secret value" in client.get(URL).content.decode()


def test_long_arguments_are_cut(admin_client: Client, recording_server: redis.Redis) -> None:
    recording_server.set("long", "v" * 300)
    recording_server.execute_command("MSET", *[f"k{i}" for i in range(20)])
    body = admin_client.get(URL).content.decode()
    assert "v" * 79 + "…" in body and "v" * 80 not in body
    assert "(+12 arguments)" in body


def test_many_clients_are_summarised(admin_client: Client, redis_url: str) -> None:
    connections = [redis.Redis.from_url(redis_url) for _ in range(55)]
    for i, connection in enumerate(connections):
        connection.client_setname(f"worker-{i}")
    try:
        body = admin_client.get(URL).content.decode()
    finally:
        for connection in connections:
            connection.close()
    table = body[body.index('data-part="clients"') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == 1 + 50  # the header, then the largest groups
    assert "worker-" in table
    assert "smaller groups not shown." in body


def test_latency_monitoring_off_is_explained(admin_client: Client) -> None:
    body = admin_client.get(URL).content.decode()
    assert "Latency monitoring is off on this server (latency-monitor-threshold 0)" in body


@pytest.mark.usefixtures("redis_down")
def test_redis_down_shows_a_banner(admin_client: Client) -> None:
    response = admin_client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Redis is not reachable." in body and "Traceback" not in body
    assert "Slow log" not in body


def test_the_thousands_filter_groups_whole_numbers_only() -> None:
    from cache_admin.templatetags.cache_admin_console import thousands

    assert thousands(1234567) == "1,234,567"
    assert thousands(12.5) == 12.5 and thousands(True) is True and thousands(None) is None


# CLIENT SETNAME refuses spaces and bytes outside '!'..'~', so a hostile name is made of
# quotes, angle brackets and slashes.
QUOTED_NAME = "x\"onmouseover='alert(3)'/><svg/onload=alert(4)>"


def test_odd_bytes_quotes_and_brackets_are_shown_as_text(
    admin_client: Client, recording_server: redis.Redis, redis_url: str
) -> None:
    named = redis.Redis.from_url(redis_url)
    named.client_setname(QUOTED_NAME)
    named.set(b"odd:\xff\x00\x1b[31m\"'<", b"\xfe\xfd</td></table><b>bold</b>")
    try:
        response = admin_client.get(URL)
    finally:
        named.close()
    body = response.content.decode()
    assert response.status_code == 200
    assert "<svg/onload" not in body and "onmouseover='" not in body and "<b>bold" not in body
    escaped_name = "x&quot;onmouseover=&#x27;alert(3)&#x27;/&gt;&lt;svg/onload=alert(4)&gt;"
    clients = body[body.index('data-part="clients"') :].split("</table>")[0]
    assert escaped_name in clients  # the client list
    slow = body[body.index('data-part="slowlog"') :].split("</table>")[0]
    assert escaped_name in slow  # the slow log's client column
    # Bytes that are not text read as \xNN escapes; the control byte cannot reach the page.
    assert "odd:\\xff\\x00\\x1b[31m&quot;&#x27;&lt;" in slow
    assert "\\xfe\\xfd&lt;/td&gt;&lt;/table&gt;&lt;b&gt;bold&lt;/b&gt;" in slow
    assert "\x00" not in body and "\x1b" not in body


def test_query_parameters_change_nothing(admin_client: Client) -> None:
    # The page takes no parameters: forged ones are ignored, never an error.
    response = admin_client.get(URL, {"node": "../../etc", "entries": "-1" * 500, "x": "\x00"})
    assert response.status_code == 200 and b"Slow log" in response.content
