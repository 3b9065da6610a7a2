"""A short load-generator run against the demo shop: the spec's target and what the cache saves.

The demo's own commands run as subprocesses (the suite never imports from ``demo/``) on a
private Redis and a temporary database: migrate, seed a small catalogue, then
``loadgen --json``, which warms, sends Zipf traffic with the cache and then with caching
disabled, and reports both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cache_admin.testing import RedisServer

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "demo" / "manage.py"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    var = tmp_path_factory.mktemp("demo-load")
    with RedisServer() as server:
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        env.update(
            REDIS_URL=server.url,
            DEMO_VAR_DIR=str(var),
            DJANGO_SETTINGS_MODULE="shop_site.settings",
            PYTHONPATH=os.pathsep.join([str(ROOT / "demo"), str(ROOT)]),
        )
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed", "--products", "400")
        yield env


def manage(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, str(MANAGE), *argv], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"manage.py {' '.join(argv)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def load_report(demo_env: dict[str, str]) -> dict[str, Any]:
    # A number of requests, not a duration: the same traffic however fast the machine is.
    out = manage(
        demo_env, "loadgen", "--json", "--requests", "1000", "--bypass-requests", "200",
        "--concurrency", "2", "--edit-every", "500",
    )  # fmt: skip
    report: dict[str, Any] = json.loads(out)
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


def test_product_edits_happened_during_the_run(load_report: dict[str, Any]) -> None:
    # Each edit invalidates through the signals; the hit rate above holds with them.
    assert load_report["cached"]["requests"] == 1000
    assert load_report["cached"]["edits"] == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--duration", "abc"], "'abc' is not a number"),
        (["--requests", "-5"], "not between"),
        (["--duration", "0"], "not between"),
        (["--concurrency", "1000"], "not between"),
        (["--signed-in", "2"], "not between"),
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
