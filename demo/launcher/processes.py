"""The demo's own processes (Celery worker, beat, the web server), each in its own process
group, and their stop: nothing they started is left running."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path


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


class Children:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        # Its own process group, so that stopping it stops its children (Celery's pool).
        child = subprocess.Popen(argv, env=self.env, cwd=self.cwd, start_new_session=True)
        self.running[name] = child
        return child

    def pids(self) -> str:
        return " ".join(f"{name}={child.pid}" for name, child in self.running.items())

    def terminate(self) -> None:
        children = list(self.running.values())
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

    def confirm_exited(self) -> None:
        groups = {child.pid for child in self.running.values()}
        deadline = time.monotonic() + 5
        while (left := live_members(groups)) and time.monotonic() < deadline:
            time.sleep(0.05)
        if left:
            print(f"Demo stopped, but processes {sorted(left)} did not exit.", flush=True)
        else:
            print("Demo stopped: every process it started has exited.", flush=True)
