"""One check ID per setting: each refuses bad values and accepts the edges of its rule, and
bad values of every setting at once fail no request."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cache_admin import CacheInvalidator, cache_result
from cache_admin import conf as conf_module
from cache_admin.conf import conf
from tests.checks_support import _ids, _set

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
