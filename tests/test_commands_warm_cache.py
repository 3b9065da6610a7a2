from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cache_admin import backend
from cache_admin.models import WarmRun
from cache_admin.warming import Progress, register_warmer
from tests.commands_support import PtyProcess, run_piped


def warm(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("warm_cache", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def shop_warmers(warmer_registry: dict[str, Any]) -> dict[str, Any]:
    def writer(prefix: str, count: int) -> Any:
        def run(progress: Progress) -> None:
            progress.set_total(count)
            for i in range(count):
                progress.write(f"{prefix}{i}", i)
                progress.advance()

        return run

    register_warmer("products", writer("product:", 4), label="Products")
    register_warmer("categories", writer("category:", 2), label="Categories")
    register_warmer("featured", writer("product:list:featured:", 1), label="Featured")
    return warmer_registry


pytestmark = pytest.mark.django_db


def test_all_runs_every_warmer_and_prints_a_summary(shop_warmers: Any) -> None:
    out, err = warm("--all")
    assert "products: 4 keys in" in out
    assert "categories: 2 keys in" in out
    assert "featured: 1 key in" in out
    assert "Warmed 3 of 3: 7 keys in" in out
    assert err == ""
    assert "\x1b[" not in out  # no bar, no colour off a terminal
    runs = WarmRun.objects.order_by("pk")
    assert [(r.warmer, r.status, r.keys_written) for r in runs] == [
        ("products", "succeeded", 4),
        ("categories", "succeeded", 2),
        ("featured", "succeeded", 1),
    ]
    assert runs[0].trigger.startswith("warm_cache command (")
    assert backend.get_cache().get("product:3") == 3


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--products"], ["products"]),
        (["--categories", "--featured"], ["categories", "featured"]),
        (["--featured", "--warmer", "products", "--featured"], ["products", "featured"]),
        (["--warmer", "categories"], ["categories"]),
    ],
)
def test_one_flag_per_registered_warmer(
    shop_warmers: Any, flags: list[str], expected: list[str]
) -> None:
    out, _ = warm(*flags)
    assert sorted(WarmRun.objects.values_list("warmer", flat=True)) == sorted(expected)
    assert f"Warmed {len(expected)} of {len(expected)}" in out


def test_flag_names_use_dashes(warmer_registry: dict[str, Any]) -> None:
    register_warmer("top_sellers", lambda progress: 3)
    out, _ = warm("--top-sellers")
    assert "top_sellers: 3 keys" in out


def test_a_warmer_named_like_a_builtin_option_is_reached_with_warmer(
    warmer_registry: dict[str, Any],
) -> None:
    register_warmer("list", lambda progress: 1)
    register_warmer("verbosity", lambda progress: 2)
    out, _ = warm("--warmer", "list", "--warmer", "verbosity")
    assert "list: 1 key in" in out and "verbosity: 2 keys" in out


def test_list_shows_warmers_and_their_last_run(shop_warmers: Any) -> None:
    out, _ = warm("--list")
    assert "--products" in out and "Products" in out and "never run" in out
    warm("--products")
    out, _ = warm("--list")
    line = next(line for line in out.splitlines() if line.startswith("--products"))
    assert "last succeeded" in line and "4 keys" in line
    assert not WarmRun.objects.filter(warmer="categories").exists()


def test_list_without_warmers(warmer_registry: dict[str, Any]) -> None:
    out, _ = warm("--list")
    assert "No warmers are registered." in out


def test_a_failing_warmer_raises_after_the_others_ran(shop_warmers: Any) -> None:
    def broken(progress: Progress) -> None:
        raise RuntimeError("catalogue unavailable")

    register_warmer("broken", broken)
    with pytest.raises(CommandError, match=r"1 of 4 warmers failed: broken"):
        warm("--all")
    assert WarmRun.objects.get(warmer="broken").status == WarmRun.FAILED
    assert WarmRun.objects.filter(status=WarmRun.SUCCEEDED).count() == 3


def test_verbosity_zero_prints_nothing_on_success(shop_warmers: Any) -> None:
    out, err = warm("--all", "--verbosity", "0")
    assert out == "" and err == ""


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([], r"Say what to warm: --all, or one or more of --products, --categories, --featured"),
        (["--warmer", "nope"], r"Unknown warmer 'nope'. Registered warmers: products"),
        (["--all", "--wait"], r"--wait follows Celery jobs: use it with --async"),
        (["--all", "--timeout", "5"], r"--timeout applies to --wait only"),
        (["--nope"], r"unrecognized arguments: --nope"),
        (["--all", "--async", "--wait", "--timeout", "0"], r"give a positive number"),
        (["--all", "--async", "--wait", "--timeout", "-1"], r"give a positive number"),
        (["--all", "--async", "--wait", "--timeout", "soon"], r"not a number of seconds"),
        (["--all", "--async", "--wait", "--timeout", "nan"], r"give a positive number"),
    ],
)
def test_bad_flags_get_a_clear_error(shop_warmers: Any, flags: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        warm(*flags)
    assert not WarmRun.objects.exists()


def test_no_warmers_registered_says_how_to_register(warmer_registry: dict[str, Any]) -> None:
    with pytest.raises(CommandError, match=r"No warmers are registered.*register_warmer"):
        warm("--all")


def test_async_without_celery_configured_is_a_clear_error(shop_warmers: Any) -> None:
    from celery import Celery, _state

    previous = _state.get_current_app()
    Celery("unconfigured").set_current()
    try:
        with pytest.raises(CommandError, match="Celery is not configured"):
            warm("--all", "--async")
    finally:
        previous.set_current()
    assert not WarmRun.objects.exists()


# Through a child process: exit codes, argparse errors, and the terminal progress bar.


def test_exit_code_zero_and_summary_on_a_pipe(transactional_db: None) -> None:
    done = run_piped("warm_cache", "--all", warmers="products,categories,featured")
    assert done.returncode == 0, done.stderr
    assert "Warmed 3 of 3: 10 keys in" in done.stdout
    assert "\r" not in done.stdout and "\x1b" not in done.stdout
    assert WarmRun.objects.filter(status=WarmRun.SUCCEEDED).count() == 3


def test_exit_code_one_when_a_warmer_fails(transactional_db: None) -> None:
    done = run_piped("warm_cache", "--all", warmers="products,broken")
    assert done.returncode == 1
    assert "broken: FAILED: RuntimeError: catalogue unavailable" in done.stderr
    assert "CommandError: 1 of 2 warmers failed: broken." in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--bogus"], 2, "unrecognized arguments: --bogus"),
        (["--all", "--async", "--wait", "--timeout", "x"], 2, "not a number of seconds"),
        ([], 1, "Say what to warm"),
        (["--warmer", "ghost"], 1, "Unknown warmer 'ghost'"),
    ],
)
def test_exit_codes_for_bad_flags(
    transactional_db: None, args: list[str], code: int, message: str
) -> None:
    done = run_piped("warm_cache", *args, warmers="products")
    assert done.returncode == code
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_progress_bar_on_a_terminal(transactional_db: None) -> None:
    child = PtyProcess("warm_cache", "--products", "--featured", warmers="products,featured")
    try:
        code = child.wait()
    finally:
        child.kill()
    text = child.output.decode()
    assert code == 0, text
    assert "[##############################] 5/5 100%" in text
    assert "2/2 100%" in text
    assert "\x1b[1F\x1b[J" in text  # redrawn in place
    assert "Warmed 2 of 2: 7 keys in" in text


def test_traceback_only_when_asked(transactional_db: None) -> None:
    done = run_piped("warm_cache", "--warmer", "broken", "--traceback", warmers="broken")
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "catalogue unavailable" in done.stderr


# Through Celery: --async queues one task per warmer, --wait follows them.


@pytest.mark.celery
def test_async_wait_runs_on_the_worker(celery_worker: Any, shop_warmers: Any) -> None:
    out, err = warm("--all", "--async", "--wait")
    assert out.count("queued as task") == 3
    assert "Warmed 3 of 3: 7 keys in" in out
    assert "No Celery worker answered" not in err
    runs = WarmRun.objects.all()
    assert {r.status for r in runs} == {WarmRun.SUCCEEDED}
    assert all(r.task_id for r in runs)


@pytest.mark.celery
def test_async_wait_fails_when_a_warmer_fails(celery_worker: Any, shop_warmers: Any) -> None:
    def broken(progress: Progress) -> None:
        raise RuntimeError("catalogue unavailable")

    register_warmer("broken", broken)
    with pytest.raises(CommandError, match=r"1 of 2 warmers failed: broken"):
        warm("--products", "--broken", "--async", "--wait")


@pytest.mark.celery
def test_async_without_wait_only_queues(celery_worker: Any, shop_warmers: Any) -> None:
    out, _ = warm("--featured", "--celery")
    run = WarmRun.objects.get()
    assert f"featured: queued as task {run.task_id}" in out
    from celery.result import AsyncResult

    assert AsyncResult(run.task_id).get(timeout=20)["keys_written"] == 1


@pytest.mark.celery
def test_async_wait_without_a_worker_says_so(
    celery_test_app: Any, transactional_db: None, shop_warmers: Any, settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "WARM_PICKUP_TIMEOUT": 0}
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"No worker picked up the jobs.*No Celery worker"):
        call_command(
            "warm_cache", "--products", "--async", "--wait", stdout=io.StringIO(), stderr=err
        )
    assert "No Celery worker answered" in err.getvalue()
    assert WarmRun.objects.get().status == WarmRun.QUEUED


@pytest.mark.celery
def test_async_wait_timeout(
    celery_test_app: Any, transactional_db: None, shop_warmers: Any, settings: Any
) -> None:
    settings.CACHE_ADMIN = {**settings.CACHE_ADMIN, "WARM_PICKUP_TIMEOUT": 3600}
    with pytest.raises(CommandError, match=r"Still running after 0.1 s"):
        warm("--products", "--async", "--wait", "--timeout", "0.1")


@pytest.mark.celery
def test_async_with_the_broker_down_exits_one(transactional_db: None) -> None:
    from cache_admin.testing import free_port

    done = run_piped(
        "warm_cache",
        "--all",
        "--async",
        warmers="products",
        CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/1",
    )
    assert done.returncode == 1
    assert "The Celery broker at redis://127.0.0.1:" in done.stderr
    assert "unreachable" in done.stderr and "Traceback" not in done.stderr
