"""R1: with Redis unreachable the patterns fail open, and once the breaker is open they stop
trying (no socket timeout per call).

Two kinds of outage: a port where nothing listens (connection refused), and a server that
accepts connections and never answers (every call would wait for the socket timeout).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.db.models import QuerySet

from cache_admin import (
    CachedAttribute,
    CachePattern,
    cache_queryset,
    cache_result,
    counters,
    generations,
)
from cache_admin.breaker import OPEN, breaker_for
from cache_admin.caching.link import Link
from cache_admin.invalidation import outbox
from cache_admin.testing import RedisServer, free_port
from tests.testapp.models import Category, Product

TIMEOUT = 0.2


class SilentServer:
    """Accepts TCP connections and never sends a byte; counts what it accepted."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.connections: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self.connections.append(conn)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        for conn in self.connections:
            conn.close()
        self.listener.close()


@pytest.fixture(params=["refused", "silent"])
def unreachable(request: pytest.FixtureRequest) -> Iterator[SilentServer | None]:
    if request.param == "refused":
        yield None
        return
    server = SilentServer()
    yield server
    server.stop()


@pytest.fixture
def outage(cache_alias: str, settings: Any, unreachable: SilentServer | None) -> str:
    """A cache alias of the same backend pointed at the unreachable server, made the
    toolkit's alias. Its own name gives it its own breaker: a background thread's call to
    the real Redis that was under way when settings changed cannot close it."""
    port = unreachable.port if unreachable is not None else free_port()
    url = f"redis://127.0.0.1:{port}/0"
    alias = f"unreachable-{cache_alias}"
    if cache_alias == "default":
        config = {
            "BACKEND": "django_redis.cache.RedisCache",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": TIMEOUT, "SOCKET_TIMEOUT": TIMEOUT},
        }
    else:
        config = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "OPTIONS": {"socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT},
        }
    settings.CACHES = {
        **settings.CACHES,
        alias: {**config, "LOCATION": url, "KEY_PREFIX": "testsite"},
    }
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "CACHE_ALIAS": alias,
        "BREAKER_COOLDOWN": 3600,
        # No probe thread either: the silent server's connections are the callers' only.
        "BREAKER_PROBE_INTERVAL": 0,
    }
    breaker_for(alias).reset()
    return alias


def open_the_breaker(alias: str, call: Any) -> int:
    """Call until the breaker opens; every call must still return its real result."""
    breaker = breaker_for(alias)
    n = 0
    while breaker.state != OPEN:
        assert n < 20, "the breaker never opened"
        assert call(n) == n * 10
        n += 1
    return n


def test_cache_result_fails_open_and_stops_trying(
    outage: str, unreachable: SilentServer | None, socket_use: list[int]
) -> None:
    calls: list[int] = []

    @cache_result(timeout=60, key_prefix="product")
    def product(pk: int) -> int:
        calls.append(pk)
        return pk * 10

    opened_after = open_the_breaker(outage, product)
    me = threading.get_ident()
    assert me in socket_use  # the calls did try Redis until the breaker opened
    socket_use.clear()
    accepted = unreachable.accepted if unreachable is not None else 0
    if unreachable is not None:
        assert accepted >= 1  # the client did reach the silent server before

    for pk in range(100):
        assert product(pk) == pk * 10
    assert product.refresh(5) == 50
    assert product.invalidate(5) == 0  # queued for replay, not raised
    assert len(calls) == opened_after + 101
    assert breaker_for(outage).state == OPEN

    # Once the breaker was open, these calls never touched a socket, so none of them
    # waited for a timeout...
    assert me not in socket_use
    # ...and the silent server saw no new connections from them (a background thread's
    # call that was already under way when the breaker opened may still retry once).
    if unreachable is not None:
        assert unreachable.accepted - accepted <= 3


@pytest.mark.django_db
def test_every_pattern_fails_open(outage: str, unreachable: SilentServer | None) -> None:
    category = Category.objects.create(name="c", slug="c")
    product = Product.objects.create(name="a", slug="a", category=category, is_featured=True)

    @cache_queryset(timeout=60, key_prefix="featured_products")
    def featured() -> QuerySet[Product]:
        return Product.objects.filter(is_featured=True)

    # Before and after the breaker opens, each pattern returns the real data.
    for state in ("closed", "open"):
        assert featured() == [product]
        assert CachePattern.cache_list_view(Product.objects.all()) == [product]
        page = CachePattern.cache_list_view(Product.objects.all(), page=1, per_page=5)
        assert isinstance(page, dict) and page["items"] == [product]
        attribute = CachedAttribute(product, "label", lambda: "A", 60)
        assert attribute.value == "A"
        assert featured.refresh() == [product]
        assert counters.flush() is False  # kept for later, not raised
        # The failures above opened it (BREAKER_THRESHOLD is 3).
        assert state == "open" or breaker_for(outage).state == OPEN

    with pytest.raises(redis.exceptions.ConnectionError):
        generations.bump(Product)  # a write that cannot be done says so
    counters.reset_for_tests()


def test_caching_resumes_when_redis_is_back(cache_alias: str, settings: Any) -> None:
    server = RedisServer().start()
    try:
        alias = f"restarting-{cache_alias}"
        base = settings.CACHES[cache_alias]
        settings.CACHES = {**settings.CACHES, alias: {**base, "LOCATION": f"{server.url}/0"}}
        settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": alias}
        calls: list[int] = []

        @cache_result(timeout=60, key_prefix="product")
        def product(pk: int) -> int:
            calls.append(pk)
            return pk * 10

        assert product(1) == product(1) == 10
        assert calls == [1]

        server.stop()
        for _ in range(3):
            assert product(2) == 20  # computed every time, nothing raised
        assert calls == [1, 2, 2, 2]
        assert breaker_for(alias).opened_at is not None

        server = RedisServer(server.port).start()
        # The breaker's probe thread finds the server again; no caller had to try it.
        assert breaker_for(alias).wait_closed(10), "the breaker did not close after Redis came back"
        assert product(3) == product(3) == 30  # cached again
        assert calls == [1, 2, 2, 2, 3]
        assert breaker_for(alias).opened_at is None
    finally:
        server.stop()


def test_a_lease_sent_as_redis_hangs_does_not_outlive_the_outage(
    cache_alias: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fill's SET NX that times out still runs when the server resumes: left there, that
    lease would make every reader of the key wait, then compute without storing, for
    LEASE_TIMEOUT. Its deletion is queued and replayed before the breaker closes."""
    server = RedisServer().start()
    try:
        alias = f"hanging-{cache_alias}"
        base = settings.CACHES[cache_alias]
        options = (
            {"SOCKET_TIMEOUT": TIMEOUT, "SOCKET_CONNECT_TIMEOUT": TIMEOUT}
            if cache_alias == "default"
            else {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT}
        )
        settings.CACHES = {
            **settings.CACHES,
            alias: {**base, "LOCATION": f"{server.url}/0", "OPTIONS": options},
        }
        settings.CACHE_ADMIN = {
            **settings.CACHE_ADMIN,
            "CACHE_ALIAS": alias,
            "BREAKER_PROBE_INTERVAL": 0.05,
            "LEASE_TIMEOUT": 60,
            "OUTBOX_RETRY_INTERVAL": 0,
        }
        calls: list[int] = []

        @cache_result(timeout=60, key_prefix="product")
        def product(pk: int) -> int:
            calls.append(pk)
            return pk * 10

        # The server hangs between the miss and the lease (forced, not timed).
        acquire = Link.acquire

        def hang_then_acquire(self: Link, *args: Any) -> bool:
            server.pause()
            return acquire(self, *args)

        monkeypatch.setattr(Link, "acquire", hang_then_acquire)
        assert product(1) == 10  # served, the lease's SET timed out
        monkeypatch.setattr(Link, "acquire", acquire)
        assert outbox.pending_count(alias) == 1
        server.resume()
        assert breaker_for(alias).wait_closed(10)
        assert product(1) == product(1) == 10  # filled and stored at once: no lease left
        assert calls == [1, 1]
    finally:
        outbox.clear()
        server.stop()
