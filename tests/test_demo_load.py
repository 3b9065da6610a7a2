"""A short load-generator run against the demo shop: the spec's target and what the cache saves.

The demo's own commands run as subprocesses (the suite never imports from ``demo/``) on a
private Redis and a temporary database: migrate, seed a small catalogue, then
``loadgen --json``, which warms, sends Zipf traffic with the cache and then with caching
disabled, and reports both: once through the test client in its own process, once over
HTTP to the demo's web server (``runserver``) running in another process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cache_admin.testing import RedisServer, free_port
from tests.demo_support import MANAGE, WebServer, demo_environment, manage, web_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    var = tmp_path_factory.mktemp("demo-load")
    with RedisServer() as server:
        env = demo_environment(server.url, var)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed", "--products", "400")
        yield env


@pytest.fixture(scope="module")
def load_report(demo_env: dict[str, str]) -> dict[str, Any]:
    # A number of requests, not a duration: the same traffic however fast the machine is.
    out = manage(
        demo_env, "loadgen", "--json", "--requests", "1000", "--bypass-requests", "200",
        "--concurrency", "2", "--edit-every", "500",
    )  # fmt: skip
    report: dict[str, Any] = json.loads(out)
    return report


@pytest.fixture(scope="module")
def demo_web(
    demo_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebServer]:
    with web_server(demo_env, tmp_path_factory.mktemp("demo-web") / "web.log") as server:
        yield server


@pytest.fixture(scope="module")
def http_report(demo_env: dict[str, str], demo_web: WebServer) -> dict[str, Any]:
    # Run after the in-process report: the same Redis and database, a server in another process.
    served_before = demo_web.requests_served()
    out = manage(
        demo_env, "loadgen", "--json", "--url", demo_web.url + "/", "--requests", "1000",
        "--bypass-requests", "200", "--concurrency", "2", "--edit-every", "500", "--seed", "2",
    )  # fmt: skip
    report: dict[str, Any] = json.loads(out)
    report["served_by_the_server"] = demo_web.requests_served() - served_before
    return report


def test_hit_rate_above_the_spec_target_on_a_warmed_cache(load_report: dict[str, Any]) -> None:
    assert load_report["config"]["warmed"] is True
    rates = load_report["hit_rate"]
    assert rates["hits"] + rates["misses"] > 100
    assert rates["overall"] > 0.90, rates
    # Every one of the spec's seven types saw traffic and is counted.
    assert {
        "product_list", "product_detail", "category", "user_session", "search_results",
        "recommendations", "cart",
    } <= set(rates["per_type"])  # fmt: skip


def test_queries_per_request_drop_tenfold_against_caching_disabled(
    load_report: dict[str, Any],
) -> None:
    cached, bypass = load_report["cached"], load_report["bypass"]
    assert cached["errors"] == 0 and bypass["errors"] == 0
    assert set(cached["statuses"]) <= {200, 302} and set(bypass["statuses"]) <= {200, 302}
    assert bypass["queries_per_request"] >= 1.0
    assert cached["queries_per_request"] * 10 <= bypass["queries_per_request"], load_report
    assert load_report["query_reduction"] >= 10


def test_misses_are_reported_by_reason(load_report: dict[str, Any]) -> None:
    per_type = load_report["hit_rate"]["per_type"]
    for row in per_type.values():
        assert sum(row["miss_reasons"].values()) == row["misses"], row
    # The product detail's misses are the engine's own: each has its reason.
    detail = per_type["product_detail"]["miss_reasons"]
    assert detail["other"] == 0 and detail["absent"] > 0, detail


def test_product_edits_happened_during_the_run(load_report: dict[str, Any]) -> None:
    # Each edit invalidates through the signals; the hit rate above holds with them.
    assert load_report["cached"]["requests"] == 1000
    assert load_report["cached"]["edits"] == 2


def test_traffic_over_http_to_a_running_server(
    load_report: dict[str, Any], http_report: dict[str, Any], demo_web: WebServer
) -> None:
    report = http_report
    assert report["config"]["target"] == demo_web.url  # the trailing slash is dropped
    # Every request (and the command's check that the server answers) reached the server.
    assert report["served_by_the_server"] >= 1000 + 200
    cached, bypass = report["cached"], report["bypass"]
    assert cached["requests"] == 1000 and bypass["requests"] == 200
    assert cached["no_answer"] == 0 and bypass["no_answer"] == 0
    assert cached["errors"] == 0 and bypass["errors"] == 0
    assert set(cached["statuses"]) <= {200, 302}, cached
    # The hit rate counted in the server's process, read from the shared counters.
    rates = report["hit_rate"]
    assert rates["overall"] > 0.90, rates
    # Signed-in shoppers' sessions, written by the command, were read by the server.
    assert rates["per_type"]["user_session"]["hits"] > 100, rates["per_type"]
    assert rates["per_type"]["cart"]["hits"] + rates["per_type"]["cart"]["misses"] > 0
    # Queries per request are the server's own count (X-Shop-Queries).
    assert bypass["queries_per_request"] >= 1.0
    assert report["query_reduction"] >= 10, report
    assert cached["edits"] == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--duration", "abc"], "'abc' is not a number"),
        (["--requests", "-5"], "not between"),
        (["--duration", "0"], "not between"),
        (["--concurrency", "1000"], "not between"),
        (["--signed-in", "2"], "not between"),
        (["--url", "ftp://127.0.0.1/"], "is not an http:// URL"),
        (["--url", "127.0.0.1:8000"], "is not an http:// URL"),
        (["--url", "http://127.0.0.1:99999"], "Port out of range"),
        (["--url", "http://127.0.0.1:8000/?page=2"], "without ? or #"),
    ],
)
def test_bad_flags_get_a_clear_message(
    demo_env: dict[str, str], argv: list[str], message: str
) -> None:
    done = subprocess.run(
        [sys.executable, str(MANAGE), "loadgen", *argv],
        env=demo_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_server_that_does_not_answer_gets_a_clear_message(demo_env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(MANAGE), "loadgen", "--no-warm", "--url", url],
        env=demo_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert f"no storefront answers at {url}" in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - began < 60  # refused at once, not after a pass of failures


def test_seed_is_idempotent(demo_env: dict[str, str]) -> None:
    out = manage(demo_env, "seed", "--products", "400")
    assert "400 products (0 new)" in out
    assert "6 shoppers" in out


def test_seed_refuses_a_bad_size(demo_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, str(MANAGE), "seed", "--products", "-3"],
        env=demo_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "--products must be between 0 and" in done.stderr
    assert "Traceback" not in done.stderr


def test_demo_models_and_migrations_agree(demo_env: dict[str, str]) -> None:
    manage(demo_env, "makemigrations", "--check", "--dry-run")


# The pages each product list has, from the demo's own data: (all products and each active
# category) x orders, each list's page count capped at the warmer's reach.
PAGES_PER_LIST = (
    "from math import ceil\n"
    "from shop import catalog, warmers\n"
    "from shop.models import Category, Product\n"
    "active = Product.objects.filter(is_active=True)\n"
    "sizes = [active.count()] + [active.filter(category=c).count()\n"
    "         for c in Category.objects.filter(is_active=True)]\n"
    "pages = [min(max(1, ceil(n / catalog.PAGE_SIZE)), warmers.WARM_LIST_PAGES) for n in sizes]\n"
    "print(len(catalog.SORTS) * sum(pages), min(pages), max(pages))\n"
)


def test_the_lists_warmer_reads_each_list_up_to_its_last_page(demo_env: dict[str, str]) -> None:
    expected, fewest, most = manage(demo_env, "shell", "-c", PAGES_PER_LIST).split()[-3:]
    # The 400-product catalogue has short lists (one page) and long ones (capped at 5).
    assert (fewest, most) == ("1", "5")
    out = manage(demo_env, "warm_cache", "--lists")
    assert f"lists: {expected} keys" in out, out
