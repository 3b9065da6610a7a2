"""The demo shop with its Redis gone: every storefront page still answers, then caching resumes.

The demo's web server runs as a subprocess on a Redis of the test's. The server is stopped
(connections refused) while the storefront is browsed, then started again on the same port.
The toolkit's patterns fail open behind the circuit breaker; Django's own uses of the cache
(sessions, ``cache_page``, ``{% cache %}``) are covered by django-redis's IGNORE_EXCEPTIONS.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis

from cache_admin.testing import RedisServer
from tests.demo_support import WebServer, demo_environment, manage, web_server

pytestmark = pytest.mark.slow


@dataclass
class Shop:
    redis: RedisServer
    web: WebServer


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    var = tmp_path_factory.mktemp("demo-outage")
    servers = [RedisServer().start()]
    try:
        env = demo_environment(servers[0].url, var)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed", "--products", "60")
        with web_server(env, var / "web.log") as web:
            shop = Shop(servers[0], web)
            yield shop
            servers.append(shop.redis)  # the one the test started again, if it did
    finally:
        for server in servers:
            server.stop()


def storefront_paths(web: WebServer) -> list[str]:
    status, listing = web.get("/products/")
    assert status == 200
    product = re.search(r'href="(/products/[\w-]+/)"', listing)
    assert product, listing[-2000:]
    _, detail = web.get(product.group(1))
    category = re.search(r'href="(/categories/[\w-]+/)"', detail)
    assert category, detail[-2000:]
    return [
        "/",
        "/products/",
        "/products/?page=2&sort=price",
        product.group(1),
        category.group(1),
        "/search/?q=lamp",
        "/login/",
    ]


def heading(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert found, html[-2000:]
    return found.group(1).strip()


def cached_keys(server: RedisServer, pattern: str) -> list[bytes]:
    client = redis.Redis.from_url(server.url + "/0")
    try:
        return list(client.scan_iter(match=pattern, count=1000))
    finally:
        client.close()


def test_pages_answer_with_redis_down_and_caching_resumes_when_it_is_back(shop: Shop) -> None:
    paths = storefront_paths(shop.web)
    detail = paths[3]
    slug = detail.strip("/").split("/")[-1]
    up = {path: shop.web.get(path) for path in paths}
    assert all(status == 200 for status, _ in up.values()), {p: s for p, (s, _) in up.items()}
    assert cached_keys(shop.redis, f"*{slug}*"), "the detail page was not cached"

    port = shop.redis.port
    shop.redis.stop()
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=port, socket_connect_timeout=1).ping()
    for path in paths:
        status, html = shop.web.get(path)
        assert status == 200, (path, html[-2000:])
        assert "Traceback" not in html
    # The same page, computed from the database: the product's own name.
    assert heading(shop.web.get(detail)[1]) == heading(up[detail][1])

    shop.redis = RedisServer(port=port).start()  # an empty Redis on the same address
    assert cached_keys(shop.redis, f"*{slug}*") == []
    deadline = time.monotonic() + 60  # the breaker lets a call through after its cooldown
    while not cached_keys(shop.redis, f"*{slug}*"):
        assert time.monotonic() < deadline, "caching did not resume after Redis came back"
        assert shop.web.get(detail)[0] == 200
        time.sleep(0.5)  # polling for the breaker's cooldown, not ordering a race
    for path in paths:
        assert shop.web.get(path)[0] == 200, path
