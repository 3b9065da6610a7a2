from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import CheckMessage, run_checks
from django.test import Client
from django.urls import reverse

from cache_admin import CacheInvalidator, cache_result
from cache_admin import conf as conf_module
from cache_admin.conf import conf
from cache_admin.console.site import configured_site
from cache_admin.models import TTLOverride
from tests.override_rows import raw_row


def _ids(databases: list[str] | None = None) -> list[tuple[str, str]]:
    messages: list[CheckMessage] = run_checks(databases=databases)
    return [(str(m.id), m.msg) for m in messages if str(m.id).startswith("cache_admin.")]


def _set(settings: Any, **values: object) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, **values}


def test_the_test_configuration_is_clean(db: None) -> None:
    assert _ids(databases=["default"]) == []


@pytest.mark.parametrize("alias", ["default", "builtin"])
def test_both_redis_backends_pass(settings: Any, alias: str) -> None:
    _set(settings, CACHE_ALIAS=alias)
    assert _ids() == []


def test_e001_alias_missing(settings: Any) -> None:
    _set(settings, CACHE_ALIAS="nowhere")
    [(found, msg)] = _ids()
    assert found == "cache_admin.E001"
    assert "no alias 'nowhere'" in msg


@pytest.mark.parametrize("alias", ["nowhere", "locmem"])
def test_e001_an_unusable_alias_serves_uncached(settings: Any, alias: str) -> None:
    _set(settings, CACHE_ALIAS=alias)
    calls = []

    @cache_result(timeout=60, key_prefix="no_cache")
    def answer() -> int:
        calls.append(1)
        return 42

    assert [answer(), answer()] == [42, 42]
    assert calls == [1, 1]


def test_e001_alias_not_redis(settings: Any) -> None:
    _set(settings, CACHE_ALIAS="locmem")
    [(found, msg)] = _ids()
    assert found == "cache_admin.E001"
    assert "LocMemCache, not Redis" in msg


@pytest.mark.parametrize(
    ("types", "fragment"),
    [
        ({"bad name": {"prefix": "x:", "ttl": 1}}, "must be an identifier"),
        ({"t": {"prefix": "", "ttl": 1}}, "'prefix' must be a non-empty string"),
        ({"t": {"ttl": 1}}, "'prefix' must be a non-empty string"),
        ({"t": {"prefix": "x:", "ttl": 0}}, "'ttl' must be whole seconds"),
        ({"t": {"prefix": "x:", "ttl": 1.5}}, "'ttl' must be whole seconds"),
        ({"t": {"prefix": "x:", "ttl": True}}, "'ttl' must be whole seconds"),
        ({"t": {"prefix": "x:", "ttl": 31 * 24 * 3600}}, "'ttl' must be whole seconds"),
        ({"t": {"prefix": "x:", "ttl": 5, "label": 3}}, "'label' must be a string"),
        ({"t": "x:"}, "must be a dict"),
        (["not", "a", "dict"], "it must be a dict of"),
    ],
)
def test_e002_invalid_types_entry(settings: Any, types: object, fragment: str) -> None:
    _set(settings, TYPES=types)
    [(found, msg)] = _ids()
    assert found == "cache_admin.E002"
    assert fragment in msg


def test_e003_duplicate_prefixes(settings: Any) -> None:
    _set(
        settings,
        TYPES={
            "product_detail": {"prefix": "product:", "ttl": 900},
            "item": {"prefix": "product:", "ttl": 60},
        },
    )
    [(found, msg)] = _ids()
    assert found == "cache_admin.E003"
    assert "'product_detail' and 'item' share the prefix 'product:'" in msg


# One case per check ID that validates a setting: values the check refuses, values it
# accepts at the edges of its rule.
INF, NAN = float("inf"), float("nan")
SETTING_CASES = [
    ("cache_admin.E001", "CACHE_ALIAS", [3, "", None], ["builtin"]),
    ("cache_admin.E002", "TYPES", [["not", "a", "dict"], "product:"], [{}]),
    ("cache_admin.E004", "JITTER", [1.5, -0.1, "0.2", True, NAN], [0, 1, 0.5]),
    ("cache_admin.E005", "DEFAULT_TTL", [-1, 1.5, "60", True], [None, 0, 42]),
    ("cache_admin.E006", "POLICY_POLL_INTERVAL", [0, -1, "0.5", None, INF], [0.05, 2]),
    ("cache_admin.E007", "POLICY_RELOAD_INTERVAL", [0, False, "60"], [1, 0.5]),
    ("cache_admin.E008", "LEASE_TIMEOUT", [0, -5.0, None], [0.1, 60]),
    ("cache_admin.E009", "LEASE_WAIT", [-0.1, "0.2", None, INF], [0, 10]),
    ("cache_admin.E010", "BREAKER_THRESHOLD", [0, 2.0, True, "3"], [1, 10]),
    ("cache_admin.E011", "BREAKER_COOLDOWN", [-1, None, NAN], [0, 3600]),
    ("cache_admin.E012", "STATS_FLUSH_INTERVAL", [0, "1"], [0.05, 1]),
    ("cache_admin.E013", "HISTORY_SAMPLING", [1, "yes", None], [True, False]),
    ("cache_admin.E014", "NAMESPACE", ["", None, b"cache_admin:"], ["ours:"]),
    ("cache_admin.E015", "SCAN_COUNT", [0, 100.0, None, True], [1, 500]),
    ("cache_admin.E042", "PREFIX_STEP_MS", [0, 1001, 2.0, None, True], [1, 1000]),
    ("cache_admin.E016", "OUTBOX_MAX_KEYS", [-1, 1e4, "10000"], [0, 3]),
    ("cache_admin.E017", "OUTBOX_RETRY_INTERVAL", [-1, "5", None], [0, 0.05]),
    ("cache_admin.E018", "OUTBOX_DURABLE", [0, "False"], [False]),
    ("cache_admin.E019", "OUTBOX_ADOPT_INTERVAL", [-1, None], [0, 3600]),
    (
        "cache_admin.E020",
        "PAGE_HOSTS",
        ["example.com", ["ok", 3], [""]],
        [None, [], ("a", "b:8000")],
    ),
    ("cache_admin.E021", "CONSOLE_SCAN_BUDGET", [0, 10_000_001, 2e4], [1, 10_000_000]),
    ("cache_admin.E022", "CONSOLE_PAGE_SIZE", [0, 1001, 50.0], [1, 1000]),
    ("cache_admin.E023", "CONSOLE_REFRESH_MS", [0, 5.5, "5000"], [1, 600_000]),
    ("cache_admin.E024", "CONSOLE_AUTO_SCAN_STEPS", [-1, 2.0], [0, 3]),
    ("cache_admin.E036", "CONSOLE_MIN_SAMPLE", [0, 2.5, "100", True], [1, 100]),
    ("cache_admin.E040", "ANALYSIS_SCAN_BUDGET", [0, 10_000_001, 1e5, True], [1, 10_000_000]),
    ("cache_admin.E041", "ANALYSIS_HISTORY", [0, 20.0, "20", None], [1, 500]),
    ("cache_admin.E025", "ADMIN_SITE", ["", 3, ["django.contrib.admin.site"]], [None]),
    ("cache_admin.E026", "LOG_SAMPLE_RATE", [2, -0.5, "0.01", None], [0, 1, 0.01]),
    ("cache_admin.E027", "METRICS_TOKEN", [123, b"token"], [None, "", "s3cret"]),
    ("cache_admin.E028", "METRICS_ALLOW_STAFF", [None, 1], [False]),
    ("cache_admin.E029", "WARM_PROGRESS_INTERVAL", [-0.25, "0.25"], [0, 3600]),
    ("cache_admin.E030", "WARM_PICKUP_TIMEOUT", [-1, None], [0, 600]),
    ("cache_admin.E031", "WARM_STALE_AFTER", [0, "600"], [1, 600]),
    ("cache_admin.E032", "WARM_RUN_HISTORY", [0, 500.0, None], [1, 500]),
    ("cache_admin.E033", "CELERY_CHECK_TIMEOUT", [0, INF], [0.5, 2]),
    ("cache_admin.E034", "WARM_POLL_MS", [0, 1000.0, True], [1, 250]),
    ("cache_admin.E037", "BREAKER_PROBE_INTERVAL", [-0.25, "0.25", None, INF], [0, 0.05]),
    ("cache_admin.E038", "SESSION_TYPE", ["", None, 3], ["user_session"]),
]


def test_every_setting_has_its_own_check_id_and_a_case_here() -> None:
    ids = [conf_module.check_id(setting) for setting in conf_module.DECLARED]
    assert len(set(ids)) == len(ids)
    assert {(c[0], c[1]) for c in SETTING_CASES} == {
        (conf_module.check_id(s), s.name) for s in conf_module.DECLARED
    }


@pytest.mark.parametrize(
    ("check_id", "name", "refused", "accepted"), SETTING_CASES, ids=[c[0] for c in SETTING_CASES]
)
def test_each_setting_is_checked(
    settings: Any, check_id: str, name: str, refused: list[object], accepted: list[object]
) -> None:
    default = getattr(conf_module.CacheAdminSettings(), name)
    for value in refused:
        _set(settings, **{name: value})
        [(found, msg)] = _ids()
        assert found == check_id, value
        assert f"CACHE_ADMIN[{name!r}] is {value!r}; it must be" in msg
        # A request never sees the bad value: the default applies until it is fixed.
        assert getattr(conf, name) == default
    for value in accepted:
        _set(settings, **{name: value})
        assert _ids() == [], value
        assert getattr(conf, name) == value


def test_e004_keeps_its_meaning_for_jitter(settings: Any) -> None:
    _set(settings, JITTER=1.5)
    [(found, msg)] = _ids()
    assert (found, msg) == (
        "cache_admin.E004",
        "CACHE_ADMIN['JITTER'] is 1.5; it must be a number from 0 to 1.",
    )


def test_e025_admin_site_path_that_does_not_import(settings: Any) -> None:
    _set(settings, ADMIN_SITE="tests.nowhere.site")
    [(found, msg)] = _ids()
    assert found == "cache_admin.E025"
    assert "'tests.nowhere.site' cannot be imported" in msg
    assert configured_site() is None  # start-up goes on without the console; E025 says why
    _set(settings, ADMIN_SITE="tests.settings.CACHE_ADMIN")
    [(found, msg)] = _ids()
    assert (found, msg) == (
        "cache_admin.E025",
        "CACHE_ADMIN['ADMIN_SITE'] 'tests.settings.CACHE_ADMIN' is a dict, not an AdminSite.",
    )


def test_e025_an_admin_site_instance_is_accepted(settings: Any) -> None:
    from django.contrib.admin import site

    _set(settings, ADMIN_SITE=site)
    assert _ids() == []
    assert conf.ADMIN_SITE is site


def test_e035_cache_admin_not_a_dict(settings: Any) -> None:
    settings.CACHE_ADMIN = [("JITTER", 0.5)]
    [(found, msg)] = _ids()
    assert (found, msg) == (
        "cache_admin.E035",
        "CACHE_ADMIN is list; it must be a dict of settings.",
    )
    assert conf.JITTER == 0.2


@pytest.mark.parametrize("empty", [None, {}])
def test_an_empty_cache_admin_means_every_default(settings: Any, empty: object) -> None:
    settings.CACHE_ADMIN = empty
    assert conf.TYPES == {}
    assert conf.JITTER == 0.2
    assert _ids() == []


def test_w001_override_for_unknown_type(db: None) -> None:
    # Written around the model's validation, as an old row would be after a type is removed.
    TTLOverride.objects.create(cache_type="gone_type", ttl=60)
    TTLOverride.objects.create(cache_type="cart", ttl=60)
    assert _ids() == []  # database checks run only when asked for
    [(found, msg)] = _ids(databases=["default"])
    assert found == "cache_admin.W001"
    assert "'gone_type'" in msg


def test_w002_unknown_setting(settings: Any) -> None:
    _set(settings, JITER=0.1)
    [(found, msg)] = _ids()
    assert found == "cache_admin.W002"
    assert "'JITER'" in msg


def test_bad_values_of_every_setting_at_once_fail_no_request(
    settings: Any, admin_client: Client
) -> None:
    _set(settings, **{name: refused[0] for _id, name, refused, _ok in SETTING_CASES})
    assert len(_ids()) == len(SETTING_CASES)
    calls = []

    @cache_result(timeout=60, key_prefix="bad_settings")
    def answer(n: int) -> int:
        calls.append(n)
        return n * 2

    assert [answer(21), answer(21)] == [42, 42]
    assert calls == [21]  # the second call was a hit
    assert CacheInvalidator.invalidate_by_prefix("bad_settings") == 1
    assert answer(21) == 42 and calls == [21, 21]
    for name in ("dashboard", "keys", "invalidate", "warm"):
        response = admin_client.get(reverse(f"admin:cache_admin_{name}"))
        assert response.status_code == 200, name


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


def test_w005_override_out_of_range(db: None) -> None:
    raw_row("cart", 0)
    raw_row("category", 10**12)
    TTLOverride.objects.create(cache_type="product_list", ttl=60)
    assert _ids() == []  # database checks run only when asked for
    found = _ids(databases=["default"])
    assert [check for check, _ in found] == ["cache_admin.W005", "cache_admin.W005"]
    assert "TTL override for 'cart' is 0 s, outside 1 s - 2592000 s (30 days)" in found[0][1]
    assert "'category' is 1000000000000 s" in found[1][1]
