"""System checks on how long a hung Redis can hold a request: cache_admin.W003 and W004.

A Redis that hangs (a stopped process, a saturated host, a network that drops packets)
accepts connections and answers nothing: every call waits for its socket timeout until the
breaker opens. The caches the package uses are checked: ``CACHE_ALIAS``, the session
engine's alias, and every alias with one of the package's backends.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import redis
from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.utils.module_loading import import_string

from cache_admin import backend
from cache_admin.conf import conf

# A cache that needs longer than this to answer is down (seconds).
LONG_TIMEOUT = 1.0
SESSION_ENGINE = "cache_admin.sessions"
VALKEY_CLUSTER = "django_valkey.cluster_cache.cache"

HINT = (
    "A cache that needs more than a few hundred milliseconds is down: set OPTIONS "
    "{'SOCKET_TIMEOUT': 0.25, 'SOCKET_CONNECT_TIMEOUT': 0.25} (django-redis) or "
    "{'socket_timeout': 0.25, 'socket_connect_timeout': 0.25} (Django's Redis backend; "
    "django-valkey's cluster backend: in OPTIONS['BASE_CLIENT_KWARGS']), "
    "without retry_on_timeout. See docs/outages.md."
)


def used_aliases() -> list[str]:
    from cache_admin.backends.fail_open import FailOpenCache

    names = {str(conf.CACHE_ALIAS)}
    if getattr(settings, "SESSION_ENGINE", "") == SESSION_ENGINE:
        names.add(str(getattr(settings, "SESSION_CACHE_ALIAS", "default")))
    caches: dict[str, dict[str, Any]] = settings.CACHES  # type: ignore[assignment]
    for name, config in caches.items():
        cls = _backend_class(config)
        if cls is not None and issubclass(cls, FailOpenCache):
            names.add(str(name))
    return sorted(name for name in names if name in caches)


def _backend_class(config: dict[str, Any]) -> type | None:
    # Django's own checks refuse a BACKEND that does not import to a cache class.
    found = import_string(str(config["BACKEND"]))
    return found if isinstance(found, type) else None


def _redis_py_default(name: str) -> float | None:
    # redis-py 6+ times out after 5 s by default; older lines wait for ever (None).
    for cls in redis.connection.Connection.__mro__:
        init = vars(cls).get("__init__")
        found = None if init is None else inspect.signature(init).parameters.get(name)
        if found is not None:
            default = found.default
            return float(default) if isinstance(default, (int, float)) else None
    return None


_MISSING: Any = object()


def timeouts(config: dict[str, Any]) -> tuple[float | None, float | None, bool] | None:
    """(socket timeout, connect timeout, retried on timeout) of a Redis alias as redis-py
    applies them (None: it waits for ever); None for an alias that is not a Redis cache."""
    cls = _backend_class(config)
    kind = backend.kind_of(cls) if cls is not None else None
    if kind is None:
        return None
    options: dict[str, Any] = config.get("OPTIONS") or {}
    if kind == backend.DJANGO_REDIS:
        # django-redis passes its options only when set; its pool keywords go as they are.
        pool: dict[str, Any] = options.get("CONNECTION_POOL_KWARGS") or {}
        read = options.get("SOCKET_TIMEOUT") or pool.get("socket_timeout", _MISSING)
        connect = options.get("SOCKET_CONNECT_TIMEOUT") or pool.get(
            "socket_connect_timeout", _MISSING
        )
        retried = pool.get("retry_on_timeout")
    elif kind == backend.DJANGO_VALKEY:
        # Its cluster client takes socket options from BASE_CLIENT_KWARGS only (valkey-py's
        # defaults are redis-py's); its one-server client from SOCKET_TIMEOUT first.
        base: dict[str, Any] = options.get("BASE_CLIENT_KWARGS") or {}
        one_server = not any(base.__module__ == VALKEY_CLUSTER for base in cls.__mro__)  # type: ignore[union-attr]
        read = (one_server and options.get("SOCKET_TIMEOUT")) or base.get(
            "socket_timeout", _MISSING
        )
        connect = (one_server and options.get("SOCKET_CONNECT_TIMEOUT")) or base.get(
            "socket_connect_timeout", _MISSING
        )
        retried = base.get("retry_on_timeout")
    else:
        read = options.get("socket_timeout", _MISSING)
        connect = options.get("socket_connect_timeout", _MISSING)
        retried = options.get("retry_on_timeout")
    read = _redis_py_default("socket_timeout") if read is _MISSING else _seconds(read)
    if connect is _MISSING:
        connect = _redis_py_default("socket_connect_timeout")
    # redis-py connects with the socket timeout when it has no connect timeout.
    connect = _seconds(connect) or read
    return read, connect, bool(retried)


def _seconds(value: Any) -> float | None:
    return float(value) if value else None  # None (or 0): no timeout


@register(Tags.caches)
def check_timeouts(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for alias in used_aliases():
        caches: dict[str, dict[str, Any]] = settings.CACHES  # type: ignore[assignment]
        found = timeouts(caches[alias])
        if found is None:
            continue
        read, connect, retried = found
        if read is None:
            messages.append(
                Warning(
                    f"Cache {alias!r} has no socket timeout: a Redis that hangs holds every "
                    "request that uses it for ever.",
                    hint=HINT,
                    obj=alias,
                    id="cache_admin.W003",
                )
            )
            continue
        waits = [("socket timeout", read * (2 if retried else 1))]
        if connect is not None:
            waits.append(("connect timeout", connect))
        for what, seconds in waits:
            if seconds > LONG_TIMEOUT:
                retry = " (retried on timeout)" if retried and what == "socket timeout" else ""
                messages.append(
                    Warning(
                        f"Cache {alias!r} waits up to {seconds:g} s for a hung Redis "
                        f"({what}{retry}) before the circuit breaker opens.",
                        hint=HINT,
                        obj=alias,
                        id="cache_admin.W004",
                    )
                )
    return messages
