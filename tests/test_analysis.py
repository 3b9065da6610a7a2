"""Keyspace analysis: exact figures on a keyspace walked whole, estimates within 10 % on a
sampled one, recommendations, one job at a time, cancel (from another process too),
Redis lost mid-job, lost jobs closed, a bounded history."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.contrib.auth import get_user_model
from django.core.cache import BaseCache
from django.utils import timezone

from cache_admin import analysis, backend, counters, job_state, policy, stored_keys
from cache_admin.analysis import jobs
from cache_admin.analysis.namespaces import ID, is_id, namespace
from cache_admin.analysis.tally import TTL_BUCKETS, ttl_bucket
from cache_admin.keyspace import key_from_token
from cache_admin.models import AuditEntry, KeyspaceReport, TTLOverride
from cache_admin.testing import RedisServer, populate
from tests import django_child

pytestmark = pytest.mark.django_db(transaction=True)


def run(**chosen: Any) -> KeyspaceReport:
    job_id = analysis.start(None, analysis.options(**chosen))
    assert analysis.join(job_id, 120)
    return KeyspaceReport.objects.get(job_id=job_id)


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in rows}


@pytest.mark.parametrize(
    ("logical", "depth", "found"),
    [
        ("product:123", 2, "product:"),
        ("product:list:9f2c", 2, "product:list:"),
        ("product:123:reviews:5", 2, f"product:{ID}:"),
        ("cart:user:789", 2, "cart:user:"),
        ("cart:user:789", 1, "cart:"),
        ("session:0b3e58a2-7c1d-4d6e-9a53-5f0c2b1d8e44:data", 1, "session:"),
        ("session:0b3e58a2-7c1d-4d6e-9a53-5f0c2b1d8e44:data", 3, f"session:{ID}:"),
        ("views.decorators.cache.cache_page.x", 2, ""),
        ("", 2, ""),
    ],
)
def test_namespace_of_a_key(logical: str, depth: int, found: str) -> None:
    assert namespace(logical, ":", depth) == found


def test_id_like_segments() -> None:
    assert is_id("42") and is_id("0b3e58a27c1d4d6e9a535f0c2b1d8e44") and is_id("9f2c" * 4)
    assert not is_id("list") and not is_id("user") and not is_id("9f2c") and not is_id("")


def test_ttl_buckets() -> None:
    cases = [(None, "none"), (0, "1m"), (59, "1m"), (60, "10m"), (3599, "1h"), (86399, "1d")]
    for ttl, bucket in [*cases, (86400, "longer")]:
        assert TTL_BUCKETS[ttl_bucket(ttl)] == bucket, ttl


def put(client: redis.Redis, logical: str, value: bytes = b"x", ttl: int | None = None) -> None:
    client.set(stored_keys.stored_key(logical), value, ex=ttl)


def test_a_small_keyspace_is_walked_whole_with_exact_figures(
    cache_alias: str, neighbour: BaseCache
) -> None:
    client = backend.client()
    for i in range(30):
        put(client, f"product:{i}", ttl=500)
    put(client, "product:big", b"x" * 100_000, ttl=500)
    put(client, "product:123:reviews:5", ttl=500)
    for i in range(5):
        put(client, f"product:list:{i:032x}")  # no expiry: a leak
    for i in range(3):
        put(client, f"cart:user:{i}", ttl=100_000)  # far above 1800 s + jitter
    client.hset(stored_keys.stored_key("category:tree"), mapping={"a": "1", "b": "2"})
    client.expire(stored_keys.stored_key("category:tree"), 30)
    put(client, "misc:thing")  # of no type, no expiry
    put(client, "cache_admin:gen:x")  # the package's own: persistent on purpose
    neighbour.set("product:1", "theirs")
    user = get_user_model().objects.create_user("ops", is_staff=True)

    job_id = analysis.start(user)
    assert analysis.join(job_id, 60)
    report = KeyspaceReport.objects.get(job_id=job_id)
    data = report.data
    assert report.status == KeyspaceReport.DONE and report.error == ""
    assert report.exact and data["exact"]
    # Every primary's (a cluster's), and the job's lock, deleted when it ended.
    dbsize = sum(int(node.dbsize()) for node in backend.primary_clients()) + 1
    assert report.keys_total == data["keys"] == data["sampled"] == report.keys_sampled == dbsize
    types = by_name(data["types"])
    assert types["product_detail"]["keys"] == 32
    assert types["product_detail"]["ttl"] == [0, 0, 32, 0, 0, 0]
    assert types["product_list"]["keys"] == types["product_list"]["no_ttl"] == 5
    assert types["cart"]["keys"] == types["cart"]["over_ttl"] == 3
    assert 99_000 <= types["cart"]["max_ttl"] <= 100_000
    assert types["cart"]["ttl"][TTL_BUCKETS.index("longer")] == 3
    assert types["category"]["ttl"][TTL_BUCKETS.index("1m")] == 1
    assert types["_untyped"]["keys"] == types["_untyped"]["no_ttl"] == 1
    assert types["_outside"]["keys"] == 1
    assert types["_package"]["keys"] >= 1  # also the analysis's own lock and progress
    assert types["search_results"]["keys"] == 0
    assert types["product_detail"]["memory"] > 100_000
    assert types["product_detail"]["memory_share"] > 0.9
    assert report.memory == data["memory"] == sum(row["memory"] for row in data["types"])
    spaces = by_name(data["namespaces"])
    assert spaces["product:"]["keys"] == 31
    assert spaces[f"product:{ID}:"]["keys"] == 1
    assert spaces["product:list:"]["keys"] == 5
    assert spaces["cart:user:"]["keys"] == 3
    assert spaces["misc:"]["no_ttl"] == 1
    assert data["namespaces"][0]["name"] == "product:"  # the largest by memory first
    biggest = data["biggest"][0]
    assert biggest["logical"] == "product:big" and biggest["size"] > 100_000
    assert key_from_token(biggest["token"]) == stored_keys.stored_key("product:big").encode()
    assert len(data["biggest"]) == 20
    leaks = {fact["logical"] for fact in data["leaks"]}
    assert leaks == {"misc:thing", *(f"product:list:{i:032x}" for i in range(5))}
    assert by_name(data["redis_types"])["hash"]["keys"] >= 2  # category:tree, the progress
    nodes = data["nodes"]  # one per primary (three on a cluster), each walked whole
    assert {node["node"] for node in nodes} == {
        f"127.0.0.1:{primary.connection_pool.connection_kwargs['port']}"
        for primary in backend.primary_clients()
    }
    assert all(node["complete"] for node in nodes)
    assert sum(node["keys"] for node in nodes) == sum(node["sampled"] for node in nodes) == dbsize
    advice = {(a["kind"], a["type"]): a["text"] for a in data["recommendations"]}
    assert set(advice) == {
        ("no_ttl", "product_list"),
        ("no_ttl", "_untyped"),
        ("outliving", "cart"),
    }
    assert advice[("no_ttl", "product_list")].startswith("Product list: 5 keys have no expiry")
    assert advice[("no_ttl", "_untyped")].startswith("1 key of no cache type has no expiry")
    assert advice[("outliving", "cart")].startswith("Cart data: 3 keys have more time left")
    entry = AuditEntry.objects.get(action="analyze_keyspace")
    assert entry.user == user and entry.detail["job"] == job_id and entry.detail["budget"] > 0
    assert report.user == user
    assert not client.exists(job_state.lock_key(jobs.KIND))  # the job ended: its lock is free


def test_estimates_from_a_sample_are_within_ten_percent(redis_client: redis.Redis) -> None:
    site = stored_keys.site_prefix()
    exact = {"product_detail": 60_000, "product_list": 25_000, "cart": 10_000, "_untyped": 5_000}
    populate(redis_client, site + "product:", exact["product_detail"], b"d" * 100, 500)
    populate(redis_client, site + "product:list:", exact["product_list"], b"l" * 400)
    populate(redis_client, site + "cart:user:", exact["cart"], b"c" * 50, 900)
    populate(redis_client, site + "misc:", exact["_untyped"], b"m" * 10)
    # A fifth of the keys: the smallest type (5,000) is then about 1,000 sampled keys, and
    # 10 % is 3.5 standard deviations of SCAN's pseudo-random sample (at a tenth it was 2.4,
    # a miss every few dozen runs).
    sampled = run(budget=20_000)
    walked = run(budget=1_000_000)
    assert walked.exact and not sampled.exact
    assert 20_000 <= sampled.keys_sampled <= 22_000  # SCAN's COUNT is a hint
    assert not sampled.data["nodes"][0]["complete"]
    estimated, truth = by_name(sampled.data["types"]), by_name(walked.data["types"])
    for name, count in exact.items():
        assert truth[name]["keys"] == count
        assert abs(estimated[name]["keys"] - count) <= count * 0.1, name
        assert abs(estimated[name]["memory"] - truth[name]["memory"]) <= truth[name]["memory"] * 0.1
        assert estimated[name]["sampled"] < count
    lists = exact["product_list"]
    assert abs(estimated["product_list"]["no_ttl"] - lists) <= lists * 0.1
    assert abs(sampled.keys_total - walked.keys_total) <= walked.keys_total * 0.1
    assert {a["kind"] for a in sampled.data["recommendations"]} >= {"no_ttl"}


@pytest.mark.slow
def test_estimates_on_a_million_keys_are_within_ten_percent(redis_client: redis.Redis) -> None:
    site = stored_keys.site_prefix()
    exact = {
        "product_detail": 600_000,
        "product_list": 250_000,
        "cart": 100_000,
        "_untyped": 50_000,
    }
    for prefix, name in [
        ("product:", "product_detail"),
        ("product:list:", "product_list"),
        ("cart:user:", "cart"),
        ("misc:", "_untyped"),
    ]:
        populate(redis_client, site + prefix, exact[name], b"v" * 64, 600)
    report = run()  # the default budget: 100,000 keys
    assert not report.exact and report.keys_sampled < 150_000
    estimated = by_name(report.data["types"])
    for name, count in exact.items():
        assert abs(estimated[name]["keys"] - count) <= count * 0.1, name


def test_hit_rates_and_overrides_make_their_recommendations(redis_client: redis.Redis) -> None:
    site = stored_keys.site_prefix()
    populate(redis_client, site + "search:", 200, b"s" * 2000, 300)
    populate(redis_client, site + "category:", 10, b"c", 300)
    counters.record("search_results", "hits", 10)
    counters.record("search_results", "misses", 190)
    counters.record("category", "misses", 50)  # poor, but below CONSOLE_MIN_SAMPLE
    counters.flush()
    TTLOverride.objects.create(cache_type="category", ttl=86_400)  # 24 times 3600
    policy.reload()
    data = run().data
    types = by_name(data["types"])
    assert types["search_results"]["hits"] == 10 and types["search_results"]["misses"] == 190
    assert types["category"]["override"] == 86_400 and types["category"]["effective_ttl"] == 86_400
    advice = {(a["kind"], a["type"]): a["text"] for a in data["recommendations"]}
    assert set(advice) == {("memory_low_hits", "search_results"), ("long_override", "category")}
    assert (
        "5 % hit rate over the last hour (200 lookups)"
        in advice[("memory_low_hits", "search_results")]
    )
    assert "24 times the type's default (3,600 s)" in advice[("long_override", "category")]


def test_one_analysis_at_a_time(
    redis_client: redis.Redis, held_analysis: tuple[threading.Event, threading.Event]
) -> None:
    reached, release = held_analysis
    first = analysis.start()
    assert reached.wait(30)
    with pytest.raises(analysis.AlreadyRunning) as raised:
        analysis.start()
    assert raised.value.job_id == first
    assert KeyspaceReport.objects.count() == 1
    release.set()
    assert analysis.join(first, 30)
    second = run()  # the lock was released with the first job's end
    assert second.status == KeyspaceReport.DONE


@pytest.mark.parametrize(
    ("chosen", "message"),
    [
        ({"budget": 0}, "sample size must be a whole number from 1 to 10000000"),
        ({"budget": "lots"}, "sample size"),
        ({"delimiter": ""}, "delimiter must be 1 to 10 characters"),
        ({"delimiter": "x" * 11}, "delimiter"),
        ({"depth": 0}, "namespace depth must be a whole number from 1 to 5"),
        ({"depth": 6}, "namespace depth"),
    ],
)
def test_bad_options_are_refused_with_a_message(chosen: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        analysis.options(**chosen)


def test_default_options_come_from_the_settings(settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "ANALYSIS_SCAN_BUDGET": 1234}
    assert analysis.options() == jobs.Options(budget=1234, delimiter=":", depth=2)


def test_cancel_keeps_what_was_sampled(
    redis_client: redis.Redis,
    settings: Any,
    held_analysis: tuple[threading.Event, threading.Event],
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 100}
    populate(redis_client, stored_keys.site_prefix() + "product:", 5000, b"v", 500)
    reached, release = held_analysis
    user = get_user_model().objects.create_user("ops", is_staff=True)
    job_id = analysis.start(user)
    assert reached.wait(30)
    assert analysis.cancel(job_id, user)
    release.set()
    assert analysis.join(job_id, 30)
    report = KeyspaceReport.objects.get(job_id=job_id)
    assert report.status == KeyspaceReport.CANCELLED
    assert 0 < report.keys_sampled < 1000 and not report.exact
    # Extrapolated from the part sampled: still about the whole node.
    assert abs(by_name(report.data["types"])["product_detail"]["keys"] - 5000) <= 1500
    assert AuditEntry.objects.filter(action="analyze_keyspace_cancel", user=user).count() == 1
    assert not analysis.cancel(job_id, user)  # over: nothing to cancel, nothing audited
    assert AuditEntry.objects.filter(action="analyze_keyspace_cancel").count() == 1


def test_another_process_reads_the_progress_and_cancels(
    redis_client: redis.Redis,
    settings: Any,
    held_analysis: tuple[threading.Event, threading.Event],
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "SCAN_COUNT": 100}
    populate(redis_client, stored_keys.site_prefix() + "product:", 3000, b"v", 500)
    reached, release = held_analysis
    job_id = analysis.start()
    assert reached.wait(30)
    script = """
        from cache_admin import analysis
        found = analysis.progress(sys.argv[1])
        print(found.nodes, found.sampled, found.percent < 100, analysis.cancel(sys.argv[1]))
    """
    nodes, sampled, partial, cancelled = django_child.run(script, job_id).split()
    assert nodes == "1" and 0 < int(sampled) < 3000 and partial == "True" and cancelled == "True"
    release.set()
    assert analysis.join(job_id, 30)
    assert KeyspaceReport.objects.get(job_id=job_id).status == KeyspaceReport.CANCELLED


def test_redis_lost_mid_job_fails_the_report_and_says_why(doomed_redis: RedisServer) -> None:
    stopped = threading.Event()

    def stop_server(job_id: str, tally: Any) -> None:
        if not stopped.is_set():
            stopped.set()
            doomed_redis.stop()

    populate(backend.client(), stored_keys.site_prefix() + "product:", 500)
    jobs.batch_hooks.append(stop_server)
    try:
        job_id = analysis.start()
        assert analysis.join(job_id, 30)
    finally:
        jobs.batch_hooks.remove(stop_server)
    report = KeyspaceReport.objects.get(job_id=job_id)
    assert report.status == KeyspaceReport.FAILED and report.finished_at is not None
    assert "unreachable" in report.error and report.data == {}


def test_a_job_whose_process_ended_is_closed(redis_client: redis.Redis) -> None:
    long_ago = timezone.now() - timedelta(seconds=jobs.STALE_SECONDS + 60)
    lost = KeyspaceReport.objects.create(job_id="a" * 32)
    KeyspaceReport.objects.filter(pk=lost.pk).update(started_at=long_ago)
    fresh = KeyspaceReport.objects.create(job_id="b" * 32)  # just started elsewhere
    lost.refresh_from_db()
    assert analysis.lost(lost, None) and not analysis.lost(fresh, None)
    assert jobs.close_lost() == 1
    lost.refresh_from_db()
    assert lost.status == KeyspaceReport.FAILED and "ended before it finished" in lost.error
    # Cancelling a silent job closes it at once (nobody is left to read the flag).
    redis_client.hset(job_state.state_key(jobs.KIND, "b" * 32), mapping={"updated": 0, "nodes": 1})
    assert analysis.cancel("b" * 32)
    fresh.refresh_from_db()
    assert fresh.status == KeyspaceReport.FAILED


def test_the_history_keeps_the_newest_reports(redis_client: redis.Redis, settings: Any) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "ANALYSIS_HISTORY": 2}
    reports = [run() for _ in range(3)]
    kept = list(KeyspaceReport.objects.values_list("job_id", flat=True))
    assert kept == [reports[2].job_id, reports[1].job_id]
