"""Lua scripts through any client of the adapter: redis-py or valkey-py, one server or a
Redis Cluster (where a script runs on the node of its keys, so it must declare them all
and they must share a hash slot)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.client import Pipeline

from cache_admin.client_errors import NO_SCRIPT_ERRORS

__all__ = ["LuaScript", "pipelined"]


class LuaScript:
    """A Lua script run with EVALSHA, loaded when the server does not know it yet, through
    any client of the adapter (redis-py or valkey-py, one server or a cluster, where it
    runs on the node of its keys and is loaded on every primary)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    def queue(self, pipe: Pipeline, keys: Sequence[Any], args: Sequence[Any]) -> None:
        """Add a run to a pipeline (for :func:`pipelined`). Sent as a plain command: a
        valkey-py cluster pipeline refuses its ``evalsha()`` method."""
        pipe.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)  # type: ignore[no-untyped-call]

    def __call__(self, client: redis.Redis, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NO_SCRIPT_ERRORS:
            client.script_load(self.text)
            return client.evalsha(self.sha, len(keys), *keys, *args)


def pipelined(
    client: redis.Redis, script: LuaScript, build: Callable[[Pipeline], None]
) -> list[Any]:
    """The commands ``build`` queues (runs of ``script`` among them), in one round trip
    (on a cluster, one per node, sent together).

    redis-py's own script support in a pipeline asks the server whether it knows the
    script before every execution (a second round trip); here a server that does not know
    it yet answers NOSCRIPT, and the script is loaded once and the commands sent again.
    """
    for attempt in (1, 2):
        pipe = client.pipeline(transaction=False)
        build(pipe)
        try:
            return list(pipe.execute())
        except NO_SCRIPT_ERRORS:
            if attempt == 2:
                raise
            client.script_load(script.text)
    raise AssertionError("unreachable")  # pragma: no cover
