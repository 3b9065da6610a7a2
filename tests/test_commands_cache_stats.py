from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cache_admin import counters
from cache_admin.testing import free_port
from tests.commands_support import CLI, PtyProcess, child_env, run_piped

pytestmark = pytest.mark.django_db


def stats(*args: str) -> str:
    out = io.StringIO()
    call_command("cache_stats", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def traffic() -> None:
    """product_detail at 95% (target), category at 80% (acceptable), cart at 10% (poor), each
    on 100 lookups (CONSOLE_MIN_SAMPLE); search_results at 0% on 10: too few to judge."""
    for type_name, hits, misses in [
        ("product_detail", 95, 5),
        ("category", 80, 20),
        ("cart", 10, 90),
        ("search_results", 0, 10),
    ]:
        counters.record(type_name, "hits", hits)
        counters.record(type_name, "misses", misses)
    # 80 of cart's 90 misses with their reason (a miss recorded without one tells none).
    counters.record("cart", "absent", 60)
    counters.record("cart", "invalidated", 20)
    counters.flush()


def test_one_shot_text(traffic: None) -> None:
    from cache_admin import backend

    backend.get_cache().set("product:1", "x")
    out = stats()
    assert "Redis " in out and "node" in out
    assert "Memory: " in out and "Keys: " in out
    assert "Hit rate (server keyspace): " in out
    rows = {line.split("  ")[0].strip(): line for line in out.splitlines()}
    assert "95.0%" in rows["Product detail"]
    assert "80.0%" in rows["Category data"]
    assert "10.0%" in rows["Cart data"]
    assert rows["Cart data"].endswith("absent 67%, invalidated 22%, other 11%")
    assert "Why missed (1h)" in out
    assert rows["Product detail"].split()[3:5] == ["900", "1"]  # TTL, then one key of that type
    # 185 hits and 125 misses over all types: 59.7%.
    assert "59.7%" in rows["All types"]
    assert "\x1b[" not in out  # no colour off a terminal


def test_json(traffic: None) -> None:
    data = json.loads(stats("--json"))
    assert data["server"]["connected"] is True
    assert data["server"]["version"]
    assert isinstance(data["server"]["keys_per_db"], dict)
    types = {t["name"]: t for t in data["types"]}
    assert types["product_detail"]["last_5m"]["hits"] == 95
    assert types["product_detail"]["last_5m"]["hit_rate"] == pytest.approx(0.95)
    assert types["product_detail"]["level"] == "target"
    assert types["category"]["level"] == "acceptable"
    assert types["cart"]["level"] == "poor"
    assert types["search_results"]["level"] == "few"
    assert types["user_session"]["level"] is None
    assert types["search_results"]["last_1h"]["hit_rate"] == 0.0
    assert types["user_session"]["last_1h"]["hit_rate"] is None
    assert types["product_detail"]["effective_ttl"] == 900
    assert types["cart"]["last_1h"]["miss_reasons"] == {
        "absent": 60,
        "invalidated": 20,
        "lease_wait": 0,
        "unexplained": 10,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interval", "5"], "--interval applies to --watch only"),
        (["--watch", "--interval", "0"], "give a positive number"),
        (["--watch", "--interval", "-2"], "give a positive number"),
        (["--watch", "--interval", "soon"], "not a number of seconds"),
        (["--watch", "--interval", "nan"], "give a positive number"),
        (["--watch", "--interval", "inf"], "give a positive number"),
        (["--interval"], "expected one argument"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_flags(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        stats(*args)


def test_redis_down_is_a_clear_error(settings: Any) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"},
    }
    with pytest.raises(CommandError, match="Redis is unreachable: "):
        stats()


# Child processes: exit codes, the terminal, Ctrl-C.


def test_exit_codes(transactional_db: None) -> None:
    assert run_piped("cache_stats").returncode == 0
    bad = run_piped("cache_stats", "--watch", "--interval", "-1")
    assert bad.returncode == 2 and "give a positive number" in bad.stderr
    down = run_piped("cache_stats", TEST_REDIS_URL=f"redis://127.0.0.1:{free_port()}")
    assert down.returncode == 1
    assert "CommandError: Redis is unreachable: " in down.stderr
    assert "Traceback" not in down.stderr


def test_watch_on_a_terminal_redraws_in_colour_and_ctrl_c_exits_cleanly(
    transactional_db: None, traffic: None
) -> None:
    child = PtyProcess("cache_stats", "--watch", "--interval", "0.2")
    try:
        first = child.read_until(b"Ctrl-C to stop")
        assert b"Ctrl-C to stop" in first
        child.output = b""
        again = child.read_until(b"Ctrl-C to stop")
        assert b"Ctrl-C to stop" in again
        assert b"\x1b[" in again and b"F\x1b[J" in again  # cursor back up: redrawn in place
        child.process.send_signal(signal.SIGINT)
        code = child.wait()
    finally:
        child.kill()
    text = (first + again + child.output).decode(errors="replace")
    assert code == 0
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert re.search(r"\x1b\[32;1m +95\.0%", text)  # target: green
    assert re.search(r"\x1b\[33;1m +80\.0%", text)  # acceptable: yellow
    assert re.search(r"\x1b\[31;1m +10\.0%", text)  # poor: red
    assert re.search(r"Search results .* 0\.0%", text)  # too few lookups: no colour
    assert not re.search(r"\x1b\[\d+;1m +0\.0%", text)


def test_watch_json_lines_on_a_pipe_and_ctrl_c(transactional_db: None) -> None:
    child = subprocess.Popen(
        [sys.executable, str(CLI), "cache_stats", "--watch", "--json", "--interval", "0.1"],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stderr is not None
        snapshots = [json.loads(child.stdout.readline()) for _ in range(3)]
        child.send_signal(signal.SIGINT)
        code = child.wait(timeout=30)
        err = child.stderr.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert code == 0, err
    assert "Traceback" not in err
    assert all(s["server"]["connected"] for s in snapshots)
    assert snapshots[0]["time"] < snapshots[2]["time"]


def test_force_color_off_a_terminal(traffic: None) -> None:
    out = stats("--force-color")
    assert re.search(r"\x1b\[32;1m +95\.0%", out)


def test_no_color_on_a_terminal(transactional_db: None, traffic: None) -> None:
    child = PtyProcess("cache_stats", "--no-color")
    try:
        code = child.wait()
    finally:
        child.kill()
    text = child.output.decode(errors="replace")
    assert code == 0, text
    assert "95.0%" in text and "\x1b[" not in text
