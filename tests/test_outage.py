"""R1: with Redis unreachable the patterns fail open, and once the breaker is open they stop
trying (no socket timeout per call).

Two kinds of outage: a port where nothing listens (connection refused), and a server that
accepts connections and never answers (every call would wait for the socket timeout).
A Redis Cluster's own outages (a node down, a node hanging, slots not served) are in
test_cluster_outage.py.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.db.models import QuerySet

from cache_admin import (
    CachedAttribute,
    CachePattern,
    cache_queryset,
    cache_result,
    counter_flush,
    counters,
    generations,
    stored_keys,
)
from cache_admin.breaker import OPEN, breaker_for
from cache_admin.caching import read_choice
from cache_admin.caching.link import Link
from cache_admin.invalidation import outbox
from cache_admin.lease import LEASE_PREFIX
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
def outage(server_alias: str, settings: Any, unreachable: SilentServer | None) -> str:
    """A cache alias of the same backend pointed at the unreachable server, made the
    toolkit's alias. Its own name gives it its own breaker: a background thread's call to
    the real Redis that was under way when settings changed cannot close it."""
    port = unreachable.port if unreachable is not None else free_port()
    url = f"redis://127.0.0.1:{port}/0"
    alias = f"unreachable-{server_alias}"
    if server_alias == "default":
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
    counter_flush.reset_for_tests()


def test_caching_resumes_when_redis_is_back(server_alias: str, settings: Any) -> None:
    server = RedisServer().start()
    try:
        alias = f"restarting-{server_alias}"
        base = settings.CACHES[server_alias]
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


@dataclass
class Hanging:
    server: RedisServer
    alias: str
    calls: list[int]
    product: Any  # a cache_result function on the alias: pk -> pk * 10


@pytest.fixture
def hanging(server_alias: str, settings: Any) -> Iterator[Hanging]:
    """The toolkit on a Redis of its own that a test can pause, with short timeouts."""
    server = RedisServer().start()
    alias = f"hanging-{server_alias}"
    options = (
        {"SOCKET_TIMEOUT": TIMEOUT, "SOCKET_CONNECT_TIMEOUT": TIMEOUT}
        if server_alias == "default"
        else {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT}
    )
    settings.CACHES = {
        **settings.CACHES,
        alias: {**settings.CACHES[server_alias], "LOCATION": f"{server.url}/0", "OPTIONS": options},
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

    try:
        yield Hanging(server, alias, calls, product)
    finally:
        outbox.clear()
        server.stop()


def hang_before(monkeypatch: pytest.MonkeyPatch, server: RedisServer, name: str, nth: int) -> None:
    """Pause the server right before the ``nth`` call of ``Link.<name>`` (forced, not timed)."""
    original = getattr(Link, name)
    seen = [0]

    def hang_then_call(self: Link, *args: Any, **kwargs: Any) -> Any:
        seen[0] += 1
        if seen[0] == nth:
            server.pause()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Link, name, hang_then_call)


@pytest.mark.parametrize("read", ["leased", "plain"])
def test_a_lease_sent_as_redis_hangs_does_not_outlive_the_outage(
    hanging: Hanging, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    """A fill's SET NX that times out still runs when the server resumes: left there, that
    lease would make every reader of the key wait, then compute without storing, for
    LEASE_TIMEOUT. Its deletion is queued and replayed before the breaker closes. The
    lease is sent by the read itself (a family that misses) or after a GET (one that hits)."""
    if read == "plain":
        for _ in range(100):
            hanging.product(2)
        hang_before(monkeypatch, hanging.server, "acquire", 1)  # between the miss and the lease
    else:
        hang_before(monkeypatch, hanging.server, "read", 1)  # the read that takes the lease
    assert read_choice.leased_read("product") is (read == "leased")
    assert hanging.product(1) == 10  # served, the lease's SET timed out
    monkeypatch.undo()
    assert outbox.pending_count(hanging.alias) == 1
    hanging.server.resume()
    assert breaker_for(hanging.alias).wait_closed(10)
    assert hanging.product(1) == hanging.product(1) == 10  # filled and stored: no lease left
    assert [pk for pk in hanging.calls if pk == 1] == [1, 1]


def test_a_refresh_whose_lease_timed_out_leaves_no_lease(
    hanging: Hanging, monkeypatch: pytest.MonkeyPatch
) -> None:
    hang_before(monkeypatch, hanging.server, "run", 1)  # the refresh's SET of its lease
    assert hanging.product.refresh(2) == 20
    monkeypatch.undo()
    assert outbox.pending_count(hanging.alias) == 1
    hanging.server.resume()
    assert breaker_for(hanging.alias).wait_closed(10)
    assert hanging.product(2) == hanging.product(2) == 20
    assert hanging.calls == [2, 2]


def test_a_reader_waiting_on_a_lease_as_redis_hangs_queues_it(
    hanging: Hanging, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process's fill holds the key; the server hangs while this reader waits.
    client = redis.Redis(port=hanging.server.port)
    stored = stored_keys.stored_key("product:3", caches[hanging.alias])
    client.set(stored, LEASE_PREFIX + b"another process", px=60_000)
    client.close()
    hang_before(monkeypatch, hanging.server, "read", 2)
    assert hanging.product(3) == 30
    assert outbox.pending_count(hanging.alias) == 1


def test_a_lease_that_cannot_be_released_is_queued(hanging: Hanging) -> None:
    @cache_result(timeout=60, key_prefix="product")
    def failing(pk: int) -> int:
        hanging.server.kill()  # Redis dies while the function runs, which then fails
        raise ValueError("the function's own error")

    with pytest.raises(ValueError, match="own error"):
        failing(4)
    assert outbox.pending_count(hanging.alias) == 1  # the lease, deleted once Redis is back
