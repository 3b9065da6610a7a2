"""Run the demo shop's own commands and web server as subprocesses, on a Redis of the test's.

The suite never imports from ``demo/``: the demo runs as a user runs it, through
``demo/manage.py``, with ``DEMO_VAR_DIR`` pointing at a temporary database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cache_admin.testing import free_port

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "demo" / "manage.py"


def demo_environment(redis_url: str, var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        REDIS_URL=redis_url,
        DEMO_VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="shop_site.settings",
        PYTHONPATH=os.pathsep.join([str(ROOT / "demo"), str(ROOT)]),
    )
    return env


def manage(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, str(MANAGE), *argv], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"manage.py {' '.join(argv)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class WebServer:
    url: str
    log: Path

    def requests_served(self) -> int:
        return sum(
            1 for line in self.log.read_text(errors="replace").splitlines() if '"GET /' in line
        )

    def get(self, path: str) -> tuple[int, str]:
        """Status and body of a GET; never raises on an HTTP error status."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")


@contextlib.contextmanager
def web_server(env: dict[str, str], log: Path) -> Iterator[WebServer]:
    """The demo's ``runserver`` on a free port, stopped (its whole group) on exit."""
    port = free_port()
    server = WebServer(f"http://127.0.0.1:{port}", log)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(MANAGE), "runserver", f"127.0.0.1:{port}", "--noreload"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text(errors="replace")
            with contextlib.suppress(urllib.error.URLError, OSError):
                if server.get("/")[0] == 200:
                    break
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.2)  # polling for readiness, not ordering a race
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
