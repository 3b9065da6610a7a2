"""django-redis's Sentinel client: the toolkit and the console's reads work through it.

A real primary and a real Sentinel process that monitors it; the cache's LOCATION names
the service ("redis://primary/0"), so every connection is found through the Sentinel.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.cache import caches

from cache_admin import CacheInvalidator, backend, cache_result, keyspace
from cache_admin.checks import check_cache_alias
from cache_admin.stats import server_status
from cache_admin.testing import RedisServer, find_server_binary, free_port

SERVICE = "primary"


@pytest.fixture(scope="module")
def primary() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def sentinel_port(primary: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder: Path = tmp_path_factory.mktemp("sentinel")
    port = free_port()
    config = folder / "sentinel.conf"  # Sentinel rewrites its config file: a file of its own
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
        f"sentinel monitor {SERVICE} 127.0.0.1 {primary.port} 1\n"
    )
    log = (folder / "sentinel.log").open("wb")
    process = subprocess.Popen(
        [find_server_binary(), str(config), "--sentinel"], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        client = redis.Redis(port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.sentinel_get_master_addr_by_name(SERVICE):
                    break
            except redis.ConnectionError:
                pass
            assert process.poll() is None, (folder / "sentinel.log").read_text()
            assert time.monotonic() < deadline, (folder / "sentinel.log").read_text()
            time.sleep(0.1)  # polling for readiness, not ordering a race
        client.close()
        yield port
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
def sentinel_cache(settings: Any, sentinel_port: int) -> str:
    settings.CACHES = {
        **settings.CACHES,
        "sentinel": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://{SERVICE}/0",
            "KEY_PREFIX": "sentinelsite",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.SentinelClient",
                "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
                "SENTINELS": [("127.0.0.1", sentinel_port)],
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        },
    }
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CACHE_ALIAS": "sentinel"}
    return "sentinel"


@pytest.fixture
def primary_client(primary: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(primary.url + "/0")
    client.flushdb()
    yield client
    client.close()


def test_the_sentinel_cache_passes_the_system_check(sentinel_cache: str) -> None:
    assert backend.check_alias() is None
    assert check_cache_alias() == []


def test_cache_result_reads_and_writes_the_primary_found_by_the_sentinel(
    sentinel_cache: str, primary_client: redis.Redis
) -> None:
    calls: list[int] = []

    @cache_result(key_prefix="profile", cache_type=None, timeout=300)
    def profile(user_id: int) -> dict[str, int]:
        calls.append(user_id)
        return {"id": user_id}

    assert profile(7) == {"id": 7}
    assert profile(user_id=7) == {"id": 7}
    assert calls == [7]
    assert primary_client.exists(f"sentinelsite:1:{profile.key_for(7)}") == 1
    profile.invalidate(7)
    assert primary_client.exists(f"sentinelsite:1:{profile.key_for(7)}") == 0


def test_prefix_deletion_and_key_browsing_go_through_the_sentinel(
    sentinel_cache: str, primary_client: redis.Redis
) -> None:
    cache = caches[sentinel_cache]
    cache.set_many({f"product:{i}": i for i in range(50)}, timeout=600)
    cache.set("category:1", "kept", timeout=600)
    page = keyspace.scan_page("product:")
    assert sorted(info.logical for info in page.keys) == sorted(f"product:{i}" for i in range(50))
    assert page.done
    assert CacheInvalidator.invalidate_by_prefix("product:", dry_run=True) == 50
    assert CacheInvalidator.invalidate_by_prefix("product:") == 50
    assert primary_client.keys("sentinelsite:1:product:*") == []
    assert cache.get("category:1") == "kept"


def test_server_figures_are_the_primarys(sentinel_cache: str, primary: RedisServer) -> None:
    status = server_status()
    assert status.connected, status.error
    assert status.nodes == 1
    info = redis.Redis.from_url(primary.url).info("server")
    assert status.version == info["redis_version"]
