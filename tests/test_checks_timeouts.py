"""W003 and W004: each cache the package uses has a socket timeout, and not a long one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.checks_support import _ids, _set


def _alias(settings: Any, name: str, backend: str, options: dict[str, Any]) -> None:
    settings.CACHES = {
        **settings.CACHES,
        name: {
            "BACKEND": backend,
            "LOCATION": settings.CACHES["default"]["LOCATION"],
            "OPTIONS": options,
        },
    }


def test_w003_no_socket_timeout(settings: Any) -> None:
    # redis-py then waits for a hung server for ever.
    _alias(
        settings, "hangs", "django.core.cache.backends.redis.RedisCache", {"socket_timeout": None}
    )
    _set(settings, CACHE_ALIAS="hangs")
    [(found, msg)] = _ids()
    assert found == "cache_admin.W003"
    assert "Cache 'hangs' has no socket timeout" in msg


@pytest.mark.parametrize(
    ("backend", "options", "fragment"),
    [
        (
            "django_redis.cache.RedisCache",
            {"SOCKET_TIMEOUT": 5, "SOCKET_CONNECT_TIMEOUT": 0.2},
            "5 s for a hung Redis (socket timeout)",
        ),
        (
            "django_redis.cache.RedisCache",
            {"SOCKET_TIMEOUT": 0.25, "SOCKET_CONNECT_TIMEOUT": 3},
            "3 s for a hung Redis (connect timeout)",
        ),
        (
            "django.core.cache.backends.redis.RedisCache",
            {"socket_timeout": 2, "socket_connect_timeout": 0.2},
            "2 s for a hung Redis (socket timeout)",
        ),
        (
            "cache_admin.backends.django_redis.RedisCache",
            {
                "SOCKET_TIMEOUT": 0.75,
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "CONNECTION_POOL_KWARGS": {"retry_on_timeout": True},
            },
            "1.5 s for a hung Redis (socket timeout (retried on timeout))",
        ),
        (
            "django_valkey.cache.ValkeyCache",
            {"SOCKET_TIMEOUT": 2, "SOCKET_CONNECT_TIMEOUT": 0.2},
            "2 s for a hung Redis (socket timeout)",
        ),
        (  # its cluster client takes BASE_CLIENT_KWARGS only
            "django_valkey.cluster_cache.cache.ClusterValkeyCache",
            {"SOCKET_TIMEOUT": 0.25, "BASE_CLIENT_KWARGS": {"socket_connect_timeout": 0.2}},
            "5 s for a hung Redis (socket timeout)",
        ),
    ],
)
def test_w004_long_socket_timeout(
    settings: Any, backend: str, options: dict[str, Any], fragment: str
) -> None:
    _alias(settings, "slow", backend, options)
    _set(settings, CACHE_ALIAS="slow")
    [(check, msg)] = _ids()
    assert check == "cache_admin.W004"
    assert f"Cache 'slow' waits up to {fragment}" in msg


def test_w004_not_up_to_one_second(settings: Any) -> None:
    options = {"socket_timeout": 0.5, "socket_connect_timeout": 0.2, "retry_on_timeout": True}
    _alias(settings, "quick", "cache_admin.backends.redis.RedisCache", options)
    _set(settings, CACHE_ALIAS="quick")
    assert _ids() == []  # 0.5 s retried once: at the limit, not above it


def test_w004_not_for_a_valkey_cluster_with_short_timeouts(settings: Any) -> None:
    options = {"BASE_CLIENT_KWARGS": {"socket_timeout": 0.25, "socket_connect_timeout": 0.25}}
    _alias(settings, "quick", "django_valkey.cluster_cache.cache.ClusterValkeyCache", options)
    _set(settings, CACHE_ALIAS="quick")
    assert _ids() == []


def test_w004_redis_py_default_timeout(settings: Any) -> None:
    # No timeout given: redis-py's own default applies (5 s since redis-py 6).
    _alias(settings, "slow", "django.core.cache.backends.redis.RedisCache", {})
    _set(settings, CACHE_ALIAS="slow")
    assert {check for check, _ in _ids()} == {"cache_admin.W004"}


def test_w003_w004_cover_the_caches_the_package_uses(settings: Any) -> None:
    # Unused by the package: not its business.
    _alias(settings, "other", "django_redis.cache.RedisCache", {"SOCKET_TIMEOUT": 9})
    assert _ids() == []
    # The session engine's alias.
    settings.SESSION_ENGINE = "cache_admin.sessions"
    settings.SESSION_CACHE_ALIAS = "other"
    assert [check for check, _ in _ids()] == ["cache_admin.W004", "cache_admin.W004"]
    # An alias with one of the package's backends.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    _alias(settings, "other", "cache_admin.backends.django_redis.RedisCache", {"SOCKET_TIMEOUT": 9})
    assert {msg.split(" waits")[0] for _, msg in _ids()} == {"Cache 'other'"}
