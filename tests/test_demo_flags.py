"""``demo/run.py`` refuses a bad flag before it starts anything, and says what each flag is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[1] / "demo" / "run.py"


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN), "--no-install", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--port", "0"], {}, "a port is between 1 and 65535"),
        (["--port", "65536"], {}, "a port is between 1 and 65535"),
        (["--port", "web"], {}, "'web' is not a port number"),
        ([], {"DEMO_PORT": "0"}, "a port is between 1 and 65535"),
        (["--redis-port", "-1"], {}, "a port is between 0 and 65535"),
    ],
)
def test_a_bad_port_is_refused_with_its_rule(
    args: list[str], env: dict[str, str], message: str
) -> None:
    done = run(*args, **env)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_help_says_what_each_port_is() -> None:
    done = run("--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "port of the web server on 127.0.0.1, 1-65535 (default 8000, or $DEMO_PORT)" in text
    assert "port for the Redis it starts (default 0: any free port)" in text
