"""Run management commands in a child process, on a pipe or on a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

CLI = Path(__file__).resolve().parent / "warm_cli.py"
LIMIT = 60


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def child_env(warmers: str = "", **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "WARM_CLI_DB": str(connection.settings_dict["NAME"]),
        "WARM_CLI_WARMERS": warmers,
        "PYTHONWARNINGS": "ignore",
        **extra,
    }


def run_piped(*args: str, warmers: str = "", **extra: str) -> Outcome:
    done = subprocess.run(
        [sys.executable, str(CLI), *args],
        env=child_env(warmers, **extra),
        capture_output=True,
        text=True,
        timeout=LIMIT,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


class PtyProcess:
    """A child whose stdout and stderr are a terminal; its output is read as it comes."""

    def __init__(self, *args: str, warmers: str = "", **extra: str) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, str(CLI), *args],
            env=child_env(warmers, TERM="xterm", **extra),
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=slave,
        )
        os.close(slave)
        self.output = b""

    def read_until(self, needle: bytes, timeout: float = LIMIT) -> bytes:
        deadline = time.monotonic() + timeout
        while needle not in self.output:
            if not self._read(deadline - time.monotonic()):
                break
        return self.output

    def _read(self, timeout: float) -> bool:
        if timeout <= 0:
            return False
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the child closed the terminal
            return False
        self.output += chunk
        return bool(chunk)

    def wait(self, timeout: float = LIMIT) -> int:
        deadline = time.monotonic() + timeout
        while self._read(deadline - time.monotonic()):
            pass
        code = self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        os.close(self.master)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
