from __future__ import annotations

from typing import Any

import pytest
import redis

from cache_admin import backend, stored_keys
from cache_admin.models import WarmRun
from cache_admin.warming import (
    Progress,
    UnknownWarmer,
    all_warmers,
    get_warmer,
    register_warmer,
    run_inline,
    unregister_warmer,
)
from cache_admin.warming.runner import keys_written

pytestmark = pytest.mark.django_db


def test_register_as_call_and_as_decorator(warmer_registry: dict[str, Any]) -> None:
    def products(progress: Progress) -> int:
        """Every active product."""
        return 0

    register_warmer("products", products, label="Products")

    @register_warmer("featured_items")
    def featured(progress: Progress) -> None:
        return None

    assert [w.name for w in all_warmers()] == ["products", "featured_items"]
    assert get_warmer("products").label == "Products"
    assert get_warmer("products").description == "Every active product."
    assert get_warmer("featured_items").label == "Featured items"
    assert get_warmer("featured_items").flag == "--featured-items"
    assert featured(Progress()) is None  # the decorator returns the function itself
    unregister_warmer("products")
    assert [w.name for w in all_warmers()] == ["featured_items"]


@pytest.mark.parametrize("name", ["", "Products", "1st", "with-dash", "a b", "x" * 64, None])
def test_bad_names_are_refused(warmer_registry: dict[str, Any], name: Any) -> None:
    with pytest.raises(ValueError, match="warmer name"):
        register_warmer(name, lambda progress: 0)


def test_not_callable_is_refused(warmer_registry: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="not callable"):
        register_warmer("products", "nope")  # type: ignore[call-overload]


def test_unknown_warmer_names_the_known_ones(warmer_registry: dict[str, Any]) -> None:
    register_warmer("products", lambda progress: 0)
    with pytest.raises(UnknownWarmer, match=r"Unknown warmer 'nope'.*products"):
        get_warmer("nope")


def test_progress_reports_are_throttled_but_first_and_last_always_go(settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "WARM_PROGRESS_INTERVAL": 3600}
    seen: list[tuple[int, int]] = []
    progress = Progress([lambda c, t: seen.append((c, t))])
    progress.set_total(4)
    for _ in range(4):
        progress.advance()
    assert seen == [(0, 4), (4, 4)]
    progress.flush()
    assert seen[-1] == (4, 4)
    assert len(seen) == 3


def test_progress_unthrottled_reports_every_step(settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "WARM_PROGRESS_INTERVAL": 0}
    seen: list[tuple[int, int]] = []
    progress = Progress([lambda c, t: seen.append((c, t))])
    progress.update(1, 3)
    progress.advance(2)
    progress.update(-5, -1)
    assert seen == [(1, 3), (3, 3), (0, 0)]


def test_write_uses_the_type_ttl_with_jitter(
    cache_alias: str, redis_client: redis.Redis, settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "JITTER": 0.2}
    progress = Progress()
    ttls = {progress.write(f"product:{i}", {"id": i}) for i in range(40)}
    # product_detail is 900 s: every TTL in [900, 1080], and not all the same (jitter).
    assert all(900 <= ttl <= 1080 for ttl in ttls if ttl is not None)
    assert len(ttls) > 1
    stored = stored_keys.stored_key("product:7")
    assert 890 <= redis_client.ttl(stored) <= 1080
    assert backend.get_cache().get("product:7") == {"id": 7}
    assert progress.keys_written == 40


def test_write_with_an_explicit_type_and_an_untyped_key(settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "JITTER": 0}
    progress = Progress()
    assert progress.write("anything", 1, cache_type="category") == 3600
    # No type and no DEFAULT_TTL: the cache's own default timeout (300), never "forever".
    assert progress.write("untyped:key", 1) is None
    client = backend.client()
    assert 0 < client.ttl(stored_keys.stored_key("untyped:key")) <= 300


def test_run_inline_records_a_successful_run(warmer_registry: dict[str, Any]) -> None:
    @register_warmer("categories", label="Categories")
    def categories(progress: Progress) -> list[str]:
        progress.set_total(3)
        written = []
        for i in range(3):
            progress.write(f"category:{i}", i)
            written.append(f"category:{i}")
            progress.advance()
        return written

    seen: list[tuple[int, int]] = []
    run = run_inline("categories", trigger="test", listeners=[lambda c, t: seen.append((c, t))])
    run.refresh_from_db()
    assert run.status == WarmRun.SUCCEEDED
    assert run.trigger == "test"
    assert run.keys_written == 3
    assert (run.current, run.total) == (3, 3)
    assert run.started_at is not None and run.finished_at is not None
    assert run.duration is not None and run.duration >= 0
    assert run.error == ""
    assert seen[-1] == (3, 3)


def test_run_inline_records_a_failure_without_raising(warmer_registry: dict[str, Any]) -> None:
    @register_warmer("broken")
    def broken(progress: Progress) -> int:
        progress.write("product:1", 1)
        raise RuntimeError("database went away")

    run = run_inline("broken", trigger="test")
    run.refresh_from_db()
    assert run.status == WarmRun.FAILED
    assert run.error == "RuntimeError: database went away"
    assert run.keys_written == 1
    assert run.finished_at is not None


def test_run_inline_of_an_unknown_warmer_is_a_recorded_failure(
    warmer_registry: dict[str, Any],
) -> None:
    run = run_inline("ghost", trigger="test")
    assert run.status == WarmRun.FAILED
    assert "Unknown warmer 'ghost'" in run.error


def test_redis_down_fails_the_run_with_a_clear_error(
    warmer_registry: dict[str, Any], settings: Any
) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }

    @register_warmer("products")
    def products(progress: Progress) -> None:
        progress.write("product:1", 1)

    run = run_inline("products", trigger="test")
    assert run.status == WarmRun.FAILED
    assert run.error.startswith("RedisUnavailable: Redis for cache 'default'")


@pytest.mark.parametrize(
    ("output", "expected"),
    [(None, 5), (7, 7), (-3, 0), (["a", "b"], 2), ("one", 1), (iter("abc"), 3), ({"k"}, 1)],
)
def test_keys_written_from_what_the_warmer_returns(output: Any, expected: int) -> None:
    progress = Progress()
    progress.keys_written = 5
    assert keys_written(output, progress) == expected


def test_a_bool_is_not_a_key_count() -> None:
    with pytest.raises(TypeError):
        keys_written(True, Progress())


def test_a_run_whose_heartbeat_stopped_is_closed_as_lost(
    warmer_registry: dict[str, Any], settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from cache_admin.warming.status import warmer_rows

    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "WARM_STALE_AFTER": 600}
    register_warmer("products", lambda progress: 0, label="Products")
    register_warmer("categories", lambda progress: 0, label="Categories")
    now = timezone.now()
    # A worker killed outright leaves its run "running" with a heartbeat that stopped.
    lost = WarmRun.objects.create(
        warmer="products", status=WarmRun.RUNNING, started_at=now - timedelta(hours=1),
        heartbeat_at=now - timedelta(minutes=20),
    )  # fmt: skip
    alive = WarmRun.objects.create(
        warmer="categories", status=WarmRun.RUNNING, started_at=now - timedelta(hours=1),
        heartbeat_at=now - timedelta(seconds=5),
    )  # fmt: skip
    rows = {row.warmer.name: row for row in warmer_rows()}
    assert rows["products"].run is not None and rows["products"].run.status == WarmRun.FAILED
    assert "probably lost" in rows["products"].run.error
    assert not rows["products"].active  # the Warm button starts a new run again
    lost.refresh_from_db()
    alive.refresh_from_db()
    assert lost.status == WarmRun.FAILED and lost.finished_at is not None
    assert alive.status == WarmRun.RUNNING


def test_progress_moves_the_heartbeat(warmer_registry: dict[str, Any]) -> None:
    beats: list[Any] = []

    @register_warmer("featured", label="Featured")
    def featured(progress: Progress) -> int:
        beats.append(WarmRun.objects.get().heartbeat_at)
        progress.set_total(2)
        progress.flush()
        beats.append(WarmRun.objects.get().heartbeat_at)
        return 0

    run_inline("featured", trigger="test")
    assert beats[0] is not None and beats[1] is not None and beats[1] > beats[0]


def test_a_warm_runs_lookups_count_fills_but_no_hit_or_miss(
    cache_alias: str, warmer_registry: dict[str, Any]
) -> None:
    # A warmer that reads through (as the demo's list warmer does): its misses are not the
    # site's. The fills it makes count; a visitor's lookup afterwards counts as before.
    from cache_admin import cache_result, counters

    @cache_result(key_prefix="category:warmed")
    def category_page(n: int) -> str:
        return f"page {n}"

    def read_through(progress: Progress) -> int:
        for n in range(4):
            category_page(n)
        category_page(0)  # a hit inside the run
        return 4

    register_warmer("categories", read_through)
    run = run_inline("categories", trigger="test")
    assert run.status == WarmRun.SUCCEEDED
    during = counters.type_stats(300)["category"]
    assert (during.hits, during.misses, during.fills) == (0, 0, 4)
    assert category_page(1) == "page 1"  # a visitor, after the run
    category_page(9)
    after = counters.type_stats(300)["category"]
    assert (after.hits, after.misses, after.fills) == (1, 1, 5)


def test_lookups_are_counted_again_after_a_failing_warmer(
    cache_alias: str, warmer_registry: dict[str, Any]
) -> None:
    from cache_admin import counters

    def broken(progress: Progress) -> int:
        assert counters.lookups.counted is False
        raise RuntimeError("boom")

    register_warmer("broken", broken)
    assert run_inline("broken", trigger="test").status == WarmRun.FAILED
    assert counters.lookups.counted is True
    with counters.lookups_not_counted():
        with counters.lookups_not_counted():
            pass
        assert counters.lookups.counted is False  # nested blocks restore what they found
    assert counters.lookups.counted is True
