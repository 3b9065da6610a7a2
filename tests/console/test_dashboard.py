from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from cache_admin import counters
from cache_admin.models import TTLOverride


def stats(client: Client) -> str:
    response = client.get(reverse("admin:cache_admin_dashboard_stats"))
    assert response.status_code == 200
    return response.content.decode()


def test_dashboard_shows_server_figures_and_every_type(admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:cache_admin_dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Redis is connected." in body
    for label in (
        "Redis version",
        "Uptime",
        "Memory used",
        "Eviction policy",
        "Operations per second",
        "Evicted keys",
        "Expired keys",
        "Connected clients",
    ):
        assert label in body
    for label in ("Product list", "Product detail", "Category data", "Cart data"):
        assert label in body
    assert 'id="cache-admin-chart"' in body
    assert 'id="cache-admin-history"' in body
    # Polling: the configured interval, paused while the tab is hidden.
    assert "every 5000ms [document.visibilityState === 'visible']" in body


def test_polling_interval_comes_from_settings(admin_client: Client, settings: object) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CONSOLE_REFRESH_MS": 1234}  # type: ignore[attr-defined]
    body = admin_client.get(reverse("admin:cache_admin_dashboard")).content.decode()
    assert "every 1234ms" in body


def test_effective_ttl_follows_an_override(
    admin_client: Client, django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        TTLOverride.objects.create(cache_type="product_detail", ttl=120)
    body = stats(admin_client)
    row = body[body.index('data-type="product_detail"') :]
    row = row[: row.index("</tr>")]
    assert "900 s" in row  # default
    assert 'data-effective="120"' in row


@pytest.mark.parametrize(
    ("hits", "misses", "level"),
    # Large enough that the console's own reads (a few per page) cannot move the level.
    [(1960, 40, "target"), (1600, 400, "acceptable"), (400, 1600, "poor")],
)
def test_server_hit_rate_is_coloured_by_the_spec_thresholds(
    admin_client: Client, redis_client: redis.Redis, hits: int, misses: int, level: str
) -> None:
    cache.set("product:1", "x")
    counters.record("product_detail", "hits", 100)  # the site's own lookups: enough to judge
    counters.flush()
    redis_client.config_resetstat()
    pipe = redis_client.pipeline(transaction=False)
    for _ in range(hits):
        pipe.get(cache.make_key("product:1"))
    for _ in range(misses):
        pipe.get(cache.make_key("product:missing"))
    pipe.execute()
    body = stats(admin_client)
    assert f'data-level="{level}" id="cache-admin-server-rate"' in body


def test_poor_type_shows_troubleshooting_hints(admin_client: Client) -> None:
    counters.record("cart", "hits", 10)
    counters.record("cart", "misses", 90)
    counters.flush()
    body = stats(admin_client)
    assert "Cart data is below 70%" in body
    assert "warm_cache --all" in body
    assert "Product detail is below 70%" not in body


def test_redis_down_is_a_banner_not_a_500(admin_client: Client, settings: object) -> None:
    settings.CACHES = {  # type: ignore[attr-defined]
        **settings.CACHES,  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "KEY_PREFIX": "testsite",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    for name in ("cache_admin_dashboard", "cache_admin_dashboard_stats", "cache_admin_keys"):
        response = admin_client.get(reverse(f"admin:{name}"))
        assert response.status_code == 200
        assert b"not reachable" in response.content or b"unreachable" in response.content
    assert (
        b"Redis is not reachable"
        in admin_client.get(reverse("admin:cache_admin_dashboard")).content
    )


@pytest.mark.parametrize(
    ("hits", "misses", "level"),
    [
        (95, 5, "target"),
        (90, 10, "acceptable"),
        (71, 29, "acceptable"),
        (70, 30, "poor"),
        (0, 99, "few"),  # below CONSOLE_MIN_SAMPLE (100): not judged
        (0, 0, "none"),
    ],
)
def test_levels_follow_the_spec_from_the_minimum_sample(hits: int, misses: int, level: str) -> None:
    from cache_admin.console.figures import level as level_for

    assert level_for(counters.Counts(hits=hits, misses=misses)) == level


def test_fragment_updates_the_chart_note_out_of_band(admin_client: Client) -> None:
    body = stats(admin_client)
    assert 'id="cache-admin-history-note" hx-swap-oob="true"' in body
    assert "cache-admin-chart" not in body  # the canvas is never replaced


def test_a_fresh_site_does_not_see_its_console_reads_as_a_poor_rate(
    admin_client: Client, redis_client: redis.Redis
) -> None:
    redis_client.config_resetstat()
    for _ in range(3):  # only the console reads: its own keys, mostly misses
        stats(admin_client)
    body = stats(admin_client)
    assert 'data-level="few" id="cache-admin-server-rate"' in body
    assert "not judged: the site's own lookups are too few (0 in the last hour" in body
    assert "ca-level--poor" not in body and "poor (below 70%)" not in body


def test_a_rate_below_the_minimum_sample_is_shown_neutral_without_hints(
    admin_client: Client, settings: object
) -> None:
    counters.record("cart", "misses", 99)
    counters.flush()
    body = stats(admin_client)
    row = body[body.index('data-type="cart"') :]
    row = row[: row.index("</tr>")]
    assert "0.0%" in row and "ca-level--few" in row
    assert "too few lookups to judge (100 needed)" in row
    assert "Cart data is below 70%" not in body
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "CONSOLE_MIN_SAMPLE": 50}  # type: ignore[attr-defined]
    body = stats(admin_client)
    assert "Cart data is below 70%" in body and "ca-level--poor" in body


def test_misses_are_shown_by_reason_beside_the_rate_and_lead_the_hints(
    admin_client: Client,
) -> None:
    counters.record("product_list", "hits", 10)
    for reason, n in (("invalidated", 60), ("absent", 25), ("lease_wait", 5)):
        for _ in range(n):
            counters.miss("product_list", reason)
    counters.flush()
    body = stats(admin_client)
    assert 'data-reason="invalidated" data-count="60"' in body
    assert "invalidated 67%" in body and "absent 28%" in body and "lease wait 6%" in body
    # Invalidations lead the hints; lease waits are under a quarter of the misses: silent.
    hints = body[body.index("Product list is below 70%") :]
    assert "60 of the 90 misses (66.7%) found an entry whose lists were invalidated" in hints
    assert "list_scopes" in hints
    assert "waited for another process" not in hints
