"""System checks: cache_admin.E001-E004 (errors) and W001-W002 (warnings)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from cache_admin import backend
from cache_admin.conf import DEFAULTS, conf
from cache_admin.types import InvalidType, all_types, build_type

# Numeric settings and the values each accepts (E004).
_POSITIVE = (
    "POLICY_POLL_INTERVAL",
    "POLICY_RELOAD_INTERVAL",
    "LEASE_TIMEOUT",
    "BREAKER_THRESHOLD",
    "BREAKER_COOLDOWN",
    "STATS_FLUSH_INTERVAL",
    "WARM_RUN_HISTORY",
    "SCAN_COUNT",
    "CONSOLE_SCAN_BUDGET",
    "CONSOLE_PAGE_SIZE",
)
# 0 turns these off (a retry thread, the rate limit of looking for queued rows).
_NON_NEGATIVE = ("OUTBOX_RETRY_INTERVAL", "OUTBOX_ADOPT_INTERVAL")
_NUMBER_RULES: dict[str, tuple[Callable[[float], bool], str]] = {
    **{name: (lambda v: v > 0, "a number above 0") for name in _POSITIVE},
    **{name: (lambda v: v >= 0, "a number of 0 or more") for name in _NON_NEGATIVE},
    "JITTER": (lambda v: 0 <= v <= 1, "a number from 0 to 1"),
}


@register(Tags.caches)
def check_cache_alias(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    problem = backend.check_alias()
    if problem is None:
        return []
    return [
        Error(
            f"cache_admin needs a Redis cache: {problem}.",
            hint="Set CACHE_ADMIN['CACHE_ALIAS'] to an alias in CACHES that uses "
            "django_redis.cache.RedisCache or django.core.cache.backends.redis.RedisCache.",
            id="cache_admin.E001",
        )
    ]


@register()
def check_types(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    raw = conf.TYPES
    if not isinstance(raw, dict):
        return [
            Error(
                "CACHE_ADMIN['TYPES'] must be a dict of {name: {'prefix': ..., 'ttl': ...}}.",
                id="cache_admin.E002",
            )
        ]
    messages: list[CheckMessage] = []
    for name, spec in raw.items():
        try:
            build_type(name, spec)
        except InvalidType as exc:
            messages.append(
                Error(
                    f"Invalid cache type in CACHE_ADMIN['TYPES']: {exc}.",
                    hint="Each type needs a non-empty 'prefix' and a 'ttl' in whole seconds.",
                    id="cache_admin.E002",
                )
            )
    prefixes: dict[str, str] = {}
    for cache_type in all_types().values():
        if cache_type.prefix in prefixes:
            messages.append(
                Error(
                    f"Cache types {prefixes[cache_type.prefix]!r} and {cache_type.name!r} "
                    f"share the prefix {cache_type.prefix!r}.",
                    hint="A key's type is found by its prefix, so prefixes must differ.",
                    id="cache_admin.E003",
                )
            )
        prefixes[cache_type.prefix] = cache_type.name
    return messages


@register()
def check_settings(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    user = conf.user_settings
    messages: list[CheckMessage] = [
        Warning(
            f"CACHE_ADMIN has an unknown setting {name!r}; it is ignored.",
            hint="Known settings: " + ", ".join(sorted(DEFAULTS)) + ".",
            id="cache_admin.W002",
        )
        for name in sorted(set(user) - set(DEFAULTS), key=str)
    ]
    for name, (fits, wanted) in _NUMBER_RULES.items():
        value = getattr(conf, name)
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (is_number and fits(value)):
            messages.append(
                Error(
                    f"CACHE_ADMIN[{name!r}] is {value!r}; it must be {wanted}.",
                    id="cache_admin.E004",
                )
            )
    return messages


@register(Tags.database)
def check_overrides(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    # Reading the table needs the database: Django runs database checks only when asked
    # (migrate, check --database), so this never blocks startup.
    if not databases:
        return []
    from cache_admin.models import TTLOverride

    try:
        names = list(TTLOverride.objects.values_list("cache_type", flat=True))
    except Exception:  # table not created yet
        return []
    known = all_types()
    return [
        Warning(
            f"TTL override for unknown cache type {name!r} has no effect.",
            hint="Delete the override in the admin, or declare the type in CACHE_ADMIN['TYPES'].",
            obj=name,
            id="cache_admin.W001",
        )
        for name in names
        if name not in known
    ]
