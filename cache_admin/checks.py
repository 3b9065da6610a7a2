"""System checks: each setting has its own error ID (declared beside it in ``conf``), plus
E003 (two types share a prefix), E035 (CACHE_ADMIN is not a dict), E039 (the session
engine's needs), W001, W002 and W005.

W003 and W004 (socket timeouts) are in ``cache_admin.backends.checks``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from cache_admin import backend
from cache_admin.conf import DECLARED, check_id, conf, rejected, rule, user_settings
from cache_admin.types import MAX_TTL, MIN_TTL, InvalidType, all_types, build_type, ttl_in_range

NOT_A_DICT = "cache_admin.E035"


@register(Tags.caches)
def check_cache_alias(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    if any(setting.name == "CACHE_ALIAS" for setting, _value in rejected(user_settings())):
        return []  # check_settings says what is wrong with it
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
    # A TYPES that is not a dict is reported by check_settings (and read as no types).
    messages: list[CheckMessage] = []
    for name, spec in conf.TYPES.items():
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
    raw = getattr(settings, "CACHE_ADMIN", None)
    if raw is not None and not isinstance(raw, Mapping):
        return [
            Error(
                f"CACHE_ADMIN is {type(raw).__name__}; it must be a dict of settings.",
                hint="Until it is fixed, every setting has its default.",
                id=NOT_A_DICT,
            )
        ]
    given = user_settings()
    known = {setting.name for setting in DECLARED}
    messages: list[CheckMessage] = [
        Warning(
            f"CACHE_ADMIN has an unknown setting {name!r}; it is ignored.",
            hint="Known settings: " + ", ".join(sorted(known)) + ".",
            id="cache_admin.W002",
        )
        for name in sorted(set(given) - known, key=str)
    ]
    messages.extend(
        Error(
            f"CACHE_ADMIN[{setting.name!r}] is {value!r}; it must be {rule(setting).wanted}.",
            hint=f"Until it is fixed, the default {setting.default!r} applies."
            if setting.name != "TYPES"
            else "Until it is fixed, no type is read from settings.",
            id=check_id(setting),
        )
        for setting, value in rejected(given)
    )
    return messages


@register(Tags.admin)
def check_admin_site(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    dotted = conf.ADMIN_SITE
    # Without django.contrib.admin the console is not installed (and admin.site not usable).
    if not isinstance(dotted, str) or not apps.is_installed("django.contrib.admin"):
        return []
    from django.contrib.admin import AdminSite

    try:
        found = import_string(dotted)
    except ImportError as exc:
        problem = f"cannot be imported ({exc})"
    else:
        if isinstance(found, AdminSite):
            return []
        problem = f"is a {type(found).__name__}, not an AdminSite"
    return [
        Error(
            f"CACHE_ADMIN['ADMIN_SITE'] {dotted!r} {problem}.",
            hint="Give the dotted path of an AdminSite instance, such as "
            "'django.contrib.admin.site', or None to install the console yourself.",
            id="cache_admin.E025",
        )
    ]


SESSION_ENGINE = "cache_admin.sessions"


@register(Tags.caches)
def check_session_engine(
    *,
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[CheckMessage]:
    if getattr(settings, "SESSION_ENGINE", "") != SESSION_ENGINE:
        return []
    problems = []
    name = conf.SESSION_TYPE
    if name not in all_types():
        problems.append(
            (
                f"CACHE_ADMIN['SESSION_TYPE'] is {name!r}, not a declared cache type.",
                "Declare it in CACHE_ADMIN['TYPES'], for example \"user_session\": "
                '{"label": "User session", "prefix": "session:", "ttl": 1800}.',
            )
        )
    problem = backend.check_alias(str(getattr(settings, "SESSION_CACHE_ALIAS", "default")))
    if problem is not None:
        problems.append(
            (
                f"SESSION_CACHE_ALIAS must name a Redis cache: {problem}.",
                "Without it sessions are read from the database on every request.",
            )
        )
    if not apps.is_installed("django.contrib.sessions"):
        problems.append(
            (
                "cache_admin.sessions keeps sessions in Django's session table.",
                "Add 'django.contrib.sessions' to INSTALLED_APPS.",
            )
        )
    return [
        Error(f"SESSION_ENGINE {SESSION_ENGINE!r}: {msg}", hint=hint, id="cache_admin.E039")
        for msg, hint in problems
    ]


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
        rows = list(TTLOverride.objects.values_list("cache_type", "ttl"))
    except Exception:  # table not created yet
        return []
    known = all_types()
    messages: list[CheckMessage] = [
        Warning(
            f"TTL override for unknown cache type {name!r} has no effect.",
            hint="Delete the override in the admin, or declare the type in CACHE_ADMIN['TYPES'].",
            obj=name,
            id="cache_admin.W001",
        )
        for name, _ttl in rows
        if name not in known
    ]
    messages += [
        Warning(
            f"TTL override for {name!r} is {ttl!r} s, outside {MIN_TTL} s - {MAX_TTL} s "
            "(30 days): it is ignored and the type's default TTL applies.",
            hint="Change or delete the override in the admin.",
            obj=name,
            id="cache_admin.W005",
        )
        for name, ttl in rows
        if name in known and not ttl_in_range(ttl)
    ]
    return messages
