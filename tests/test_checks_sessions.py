"""E039: the package's session engine needs its declared cache type and a Redis cache."""

from __future__ import annotations

from typing import Any

from tests.checks_support import _ids, _set


def test_e039_session_engine_without_its_type(settings: Any) -> None:
    settings.SESSION_ENGINE = "cache_admin.sessions"
    assert _ids() == []  # tests/settings declares "user_session"
    _set(settings, SESSION_TYPE="sessions")
    [(found, msg)] = _ids()
    assert found == "cache_admin.E039"
    assert "CACHE_ADMIN['SESSION_TYPE'] is 'sessions', not a declared cache type" in msg


def test_e039_session_engine_on_a_cache_that_is_not_redis(settings: Any) -> None:
    settings.SESSION_ENGINE = "cache_admin.sessions"
    settings.SESSION_CACHE_ALIAS = "locmem"
    [(found, msg)] = _ids()
    assert found == "cache_admin.E039"
    assert "SESSION_CACHE_ALIAS must name a Redis cache" in msg


def test_e039_only_for_the_package_engine(settings: Any) -> None:
    settings.SESSION_CACHE_ALIAS = "locmem"
    _set(settings, SESSION_TYPE="sessions")
    assert _ids() == []  # Django's own engines are not the package's business
