"""A real redis-server behind one of the package's backends, made to hang (SIGSTOP: it
accepts connections and answers nothing) when a test asks."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import redis
from django.core.cache import caches

from cache_admin import backend
from cache_admin.breaker import OPEN, breaker_for
from cache_admin.invalidation import outbox
from cache_admin.testing import RedisServer

TIMEOUT = 0.2

BACKENDS = {
    "django-redis": (
        "cache_admin.backends.django_redis.RedisCache",
        {"SOCKET_TIMEOUT": TIMEOUT, "SOCKET_CONNECT_TIMEOUT": TIMEOUT},
        backend.DJANGO_REDIS,
    ),
    "django-builtin": (
        "cache_admin.backends.redis.RedisCache",
        {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT},
        backend.DJANGO_BUILTIN,
    ),
}


@dataclass
class Hung:
    server: RedisServer
    alias: str
    kind: str

    @property
    def cache(self) -> Any:
        return caches[self.alias]

    def raw(self) -> redis.Redis:
        return redis.Redis.from_url(f"{self.server.url}/0")

    def stored(self, key: str) -> str:
        return str(self.cache.make_key(key))

    def hang(self) -> None:
        """Pause the server and make the first call: it pays one timeout and opens the breaker."""
        self.server.pause()
        started = time.monotonic()
        assert self.cache.get("anything", "miss") == "miss"
        assert time.monotonic() - started >= TIMEOUT * 0.9  # it did wait for the server
        assert breaker_for(self.alias).state == OPEN  # a timeout opens it at once

    def answer_again(self) -> None:
        self.server.resume()
        found = breaker_for(self.alias)
        assert found.wait_closed(10), "the breaker did not close after the server answered"


@contextlib.contextmanager
def hung_server(name: str, settings: Any) -> Iterator[Hung]:
    path, options, kind = BACKENDS[name]
    server = RedisServer().start()
    alias = f"guarded-{name}"
    settings.CACHES = {
        **settings.CACHES,
        alias: {
            "BACKEND": path,
            "LOCATION": f"{server.url}/0",
            "KEY_PREFIX": "guarded",
            "OPTIONS": options,
        },
    }
    settings.CACHE_ADMIN = {
        **settings.CACHE_ADMIN,
        "BREAKER_PROBE_INTERVAL": 0.05,
        "OUTBOX_RETRY_INTERVAL": 0,
    }
    outbox.clear()
    try:
        yield Hung(server, alias, kind)
    finally:
        server.resume()
        breaker_for(alias).reset()
        outbox.clear()
        server.stop()


def quietly(seen: list[int], calls: Callable[[], None]) -> None:
    """Run ``calls``; assert this thread touched no socket (so none waited for the server)."""
    me = threading.get_ident()
    seen.clear()
    calls()
    assert me not in seen, "a call went to the hung server"
