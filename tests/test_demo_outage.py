"""The demo shop with its Redis gone, under storefront and staff traffic.

The demo's web server runs as a subprocess, with the demo's own settings (the package's
django-redis backend with 0.25 s timeouts, the package's session engine), on a Redis of the
test's. Threads of the test browse it the whole time: anonymous visitors, a signed-in
shopper and a signed-in staff member. Redis is then hung (SIGSTOP for more than ten
seconds, then SIGCONT), or killed (SIGKILL) and started again empty on the same port.

Latencies are the server's own (``Server-Timing`` from the demo's first middleware): the
test machine is shared and its client threads can be descheduled; the client's figures are
shown beside them when an assertion fails.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from cache_admin.testing import RedisServer
from tests.demo_support import (
    Browser,
    WebServer,
    demo_environment,
    edit_product,
    manage,
    web_server,
)
from tests.demo_traffic import (
    Traffic,
    Visit,
    create_staff,
    latency,
    queries,
    shopper,
    staff,
    storefront_paths,
    visitors,
)

pytestmark = pytest.mark.slow

HUNG_FOR = 12.0  # seconds of SIGSTOP (at least 10)
RECOVERY = 1.0  # hits resume within this long after Redis answers
P95_MS, MAX_MS = 500.0, 2000.0  # per page while Redis hangs


@dataclass
class Shop:
    redis: RedisServer
    web: WebServer
    var: Path

    def queued_invalidations(self) -> int:
        """Rows of the outbox's copy in the demo's database (QueuedInvalidation)."""
        with sqlite3.connect(self.var / "shop.sqlite3") as db:
            return int(
                db.execute("SELECT COUNT(*) FROM cache_admin_queuedinvalidation").fetchone()[0]
            )


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    var = tmp_path_factory.mktemp("demo-outage")
    servers = [RedisServer().start()]
    try:
        env = demo_environment(servers[0].url, var)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed", "--products", "60")
        create_staff(env, "staff", "editor")
        with web_server(env, var / "web.log") as web:
            shop = Shop(servers[0], web, var)
            yield shop
            servers.append(shop.redis)  # the one a test started again, if it did
    finally:
        for server in servers:
            server.stop()


def slug_of(detail: str) -> str:
    return detail.strip("/").split("/")[-1]


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


def assert_site_held(traffic: Traffic) -> None:
    """No 5xx and no unanswered request, and every signed-in visitor stayed signed in."""
    failed = [v for v in traffic.visits if v.status >= 500 or v.status == 0]
    assert not failed, failed[:10]
    signed_out = [v for v in traffic.visits if v.signed_in is False]
    assert not signed_out, signed_out[:10]


def assert_fast(visits: list[Visit], what: str) -> dict[str, dict[str, float]]:
    """p95 and max per page, the server's figures (the client's shown on failure)."""
    by_page: dict[str, list[Visit]] = {}
    for visit in visits:
        by_page.setdefault(visit.page, []).append(visit)
    figures = {page: latency(found) for page, found in sorted(by_page.items())}
    client = {page: latency(found, server=False) for page, found in sorted(by_page.items())}
    slow = {p: f for p, f in figures.items() if f["p95"] > P95_MS or f["max"] > MAX_MS}
    assert not slow, f"{what}: server {slow}; client {client}"
    return figures


def wait_for_hits(probe: Browser, path: str, hit_queries: int, since: float) -> float:
    """Seconds from ``since`` until a request to ``path`` is a hit again (``hit_queries``:
    what the page runs when everything it reads is cached)."""
    deadline = since + 30
    while time.monotonic() < deadline:
        sent = time.monotonic()
        page = probe.open(path)
        assert page.status == 200, page.html[-2000:]
        if queries(page) <= hit_queries:
            return sent - since
        time.sleep(0.05)  # polling for the cache to answer again, not ordering a race
    raise AssertionError(f"no hit on {path} within 30 s after Redis answered")


def warm(web: WebServer, path: str) -> int:
    """Visit ``path`` until it is served from the cache; answer its queries then."""
    probe = Browser(web.url)
    found = [queries(probe.open(path)) for _ in range(3)]
    assert found[-1] == found[-2], found
    return found[-1]


def test_pages_answer_with_redis_down_and_caching_resumes_when_it_is_back(shop: Shop) -> None:
    paths = storefront_paths(shop.web)
    detail = paths[3]
    slug = slug_of(detail)
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
    deadline = time.monotonic() + 60
    while not cached_keys(shop.redis, f"*{slug}*"):
        assert time.monotonic() < deadline, "caching did not resume after Redis came back"
        assert shop.web.get(detail)[0] == 200
        time.sleep(0.1)  # polling for the breaker's probe, not ordering a race
    for path in paths:
        assert shop.web.get(path)[0] == 200, path


def work_during_the_outage(
    shop: Shop, username: str, slug: str, price: str
) -> tuple[Browser, Browser]:
    """A shopper signs in and opens the cart; a staff member signs in to the admin and edits
    a product, whose invalidations wait in the outbox. Answers both browsers."""
    newcomer = shopper(shop.web, username)
    assert newcomer.get("/cart/")[0] == 200
    editor = staff(shop.web, "editor")
    edit_product(editor, slug, price=price)
    assert shop.queued_invalidations() > 0
    return newcomer, editor


def assert_recovered(
    shop: Shop, detail: str, price: str, newcomer: tuple[str, Browser], editor: Browser
) -> None:
    """The edit's invalidations were replayed (no page shows the old price again), and the
    people who signed in during the outage still are."""
    assert shop.queued_invalidations() == 0
    assert f"${price}" in shop.web.get(detail)[1]
    username, browser = newcomer
    assert f"Sign out {username}" in browser.get("/")[1]
    assert editor.get("/admin/")[0] == 200


def test_a_hung_redis_costs_no_slow_page_and_no_sign_out(shop: Shop) -> None:
    paths = storefront_paths(shop.web)
    detail = paths[3]
    hit = warm(shop.web, detail)
    price = "87654.32"  # the seed's prices stay under 2,000
    with Traffic(visitors(shop.web, paths)) as traffic:
        time.sleep(3)  # traffic with Redis up, for the figures before (not ordering a race)
        hung_at = time.monotonic()
        shop.redis.pause()
        bob, editor = work_during_the_outage(shop, "bob", slug_of(detail), price)
        time.sleep(max(0.0, hung_at + HUNG_FOR - time.monotonic()))  # keep it hung
        answered_at = time.monotonic()
        shop.redis.resume()
        resumed_after = wait_for_hits(Browser(shop.web.url), detail, hit, answered_at)
        time.sleep(2)  # traffic after the outage too (not ordering a race)

    assert_site_held(traffic)
    assert_fast(traffic.between(hung_at, answered_at), "while Redis hung")
    assert resumed_after <= RECOVERY, f"hits resumed {resumed_after:.2f} s after Redis answered"
    assert_recovered(shop, detail, price, ("bob", bob), editor)


def test_a_redis_killed_and_restarted_empty_signs_nobody_out(shop: Shop) -> None:
    paths = storefront_paths(shop.web)
    detail = paths[3]
    hit = warm(shop.web, detail)
    price = "76543.21"
    port = shop.redis.port
    with Traffic(visitors(shop.web, paths)) as traffic:
        time.sleep(2)  # traffic with Redis up (not ordering a race)
        killed_at = time.monotonic()
        shop.redis.kill()
        carol, editor = work_during_the_outage(shop, "carol", slug_of(detail), price)
        time.sleep(max(0.0, killed_at + 5 - time.monotonic()))  # (not ordering a race)
        shop.redis = RedisServer(port=port).start()  # empty: the sessions it held are gone
        answered_at = time.monotonic()
        resumed_after = wait_for_hits(Browser(shop.web.url), detail, hit, answered_at)
        time.sleep(2)

    assert_site_held(traffic)  # the shopper and staff member signed in before kept going
    assert_fast(traffic.between(killed_at, answered_at), "while Redis was down")
    assert resumed_after <= RECOVERY, f"hits resumed {resumed_after:.2f} s after Redis answered"
    assert_recovered(shop, detail, price, ("carol", carol), editor)
