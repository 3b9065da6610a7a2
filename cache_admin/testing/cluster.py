"""A throwaway Redis Cluster: primaries and replicas, each a :class:`RedisServer` in
cluster mode (Redis or Valkey 7 or later: the embedded Valkey server has cluster mode too),
made into one cluster by ``redis-cli --cluster create`` (or ``valkey-cli``), or without a
command-line client by the same commands sent from here."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import redis

from cache_admin.nodes import PRIMARY, NodeState
from cache_admin.testing.server import RedisServer, free_port

__all__ = ["ClusterNodeServer", "RedisClusterServer", "find_cli_binary"]

T = TypeVar("T")


def find_cli_binary(server_binary: str) -> str | None:
    """The command-line client beside the server binary, else on PATH (None: neither)."""
    for name in ("redis-cli", "valkey-cli"):
        beside = Path(server_binary).with_name(name)
        if beside.is_file():
            return str(beside)
    return shutil.which("redis-cli") or shutil.which("valkey-cli")


def _command(client: redis.Redis, *args: object) -> Any:
    return client.execute_command(*args)  # type: ignore[no-untyped-call]


class ClusterNodeServer(RedisServer):
    """One node of a :class:`RedisClusterServer`: a server in cluster mode, its cluster bus
    on a port of its own (picked again when the client port is). After :meth:`kill` it can
    be started again: it keeps its ports and its cluster configuration, not its data."""

    def __init__(self, node_timeout_ms: int, *extra_args: str) -> None:
        super().__init__(None, *extra_args)
        self.node_timeout_ms = node_timeout_ms
        self.bus_port = 0
        self._bus_for = 0  # the client port the bus port was picked with

    def arguments(self) -> list[str]:
        # A node started again after kill() keeps both ports: the others know it by them.
        if self._bus_for != self.port:
            self.bus_port, self._bus_for = free_port(), self.port
        return [
            *super().arguments(),
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-port", str(self.bus_port),
            "--cluster-node-timeout", str(self.node_timeout_ms),
            # A replica's first sync starts at once instead of waiting for more replicas.
            "--repl-diskless-sync-delay", "0",
        ]  # fmt: skip


class RedisClusterServer:
    """A Redis Cluster on 127.0.0.1 that lives as long as this object (or its ``with``):
    ``primaries`` primary nodes, each with ``replicas`` replicas, every node a
    :class:`RedisServer` in cluster mode on free ports, the 16384 slots split evenly over
    the primaries. Needs a server with cluster support (Redis or Valkey 7 or later)."""

    SLOTS = 16384

    def __init__(
        self,
        primaries: int = 3,
        replicas: int = 1,
        *extra_args: str,
        node_timeout_ms: int = 2000,
        use_cli: bool = True,
    ) -> None:
        if primaries < 1 or replicas < 0:
            raise ValueError("A cluster needs one primary or more, and zero replicas or more.")
        self.primary_count = primaries
        self.replicas_per_primary = replicas
        self.nodes = [
            ClusterNodeServer(node_timeout_ms, *extra_args)
            for _ in range(primaries * (1 + replicas))
        ]
        # redis-cli makes clusters of 3 primaries or more only.
        self.cli = find_cli_binary(self.nodes[0].binary) if use_cli and primaries >= 3 else None

    @property
    def url(self) -> str:
        """One node's URL: a cluster client finds the others from it."""
        return self.nodes[0].url

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self, timeout: float = 30.0) -> RedisClusterServer:
        try:
            for node in self.nodes:
                node.start()
            if self.cli:
                self._create_with_cli(timeout)
            else:
                self._create()
            self.wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _create_with_cli(self, timeout: float) -> None:
        # The first `primaries` nodes get the slots (one host: redis-cli keeps the order).
        command = [
            str(self.cli), "--cluster", "create",
            *(f"127.0.0.1:{node.port}" for node in self.nodes),
            "--cluster-replicas", str(self.replicas_per_primary), "--cluster-yes",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0 or "[OK] All 16384 slots covered" not in done.stdout:
            raise RuntimeError(f"{self.cli} --cluster create failed: {done.stdout[-2000:]}")
        self._wait(
            lambda: all(self._ask(node, self._synced) for node in self.nodes),
            "the replicas did not sync",
        )
        self._touch_primaries()

    def _create(self) -> None:
        # What `redis-cli --cluster create --cluster-replicas N` does, without needing
        # redis-cli: slots to the primaries, distinct config epochs, MEET, then REPLICATE.
        count = self.primary_count
        clients = [self._client(node) for node in self.nodes]
        try:
            ids = [self._myself(client).node_id for client in clients]
            for index, client in enumerate(clients[:count]):
                first, end = index * self.SLOTS // count, (index + 1) * self.SLOTS // count
                _command(client, "CLUSTER", "ADDSLOTS", *range(first, end))
            for epoch, client in enumerate(clients, start=1):
                _command(client, "CLUSTER", "SET-CONFIG-EPOCH", epoch)
            for node in self.nodes[1:]:
                _command(clients[0], "CLUSTER", "MEET", "127.0.0.1", node.port, node.bus_port)
            self._wait(
                lambda: all(self._all_known(client) for client in clients),
                "the cluster nodes did not all meet",
            )
            for index, client in enumerate(clients[count:]):
                _command(client, "CLUSTER", "REPLICATE", ids[index % count])
            self._wait(
                lambda: all(self._synced(client) for client in clients[count:]),
                "the replicas did not sync",
            )
        finally:
            for client in clients:
                client.close()
        self._touch_primaries()

    def _touch_primaries(self) -> None:
        # A replica shows in CLUSTER SLOTS (where clients learn the topology) once its
        # replication offset is not 0: a write on each primary moves it now rather than at
        # the next replication ping, seconds later.
        for node in self.primaries():
            self._ask(node, redis.Redis.flushall)

    def _client(self, node: RedisServer) -> redis.Redis:
        return redis.Redis(port=node.port, socket_timeout=5, socket_connect_timeout=5)

    def _ask(self, node: RedisServer, read: Callable[[redis.Redis], T]) -> T:
        client = self._client(node)
        try:
            return read(client)
        finally:
            client.close()

    def _states(self, client: redis.Redis) -> list[NodeState]:
        return NodeState.parse_all(_command(client, "CLUSTER", "NODES"))

    def _myself(self, client: redis.Redis) -> NodeState:
        return next(state for state in self._states(client) if "myself" in state.flags)

    def _all_known(self, client: redis.Redis) -> bool:
        states = self._states(client)
        return len(states) == len(self.nodes) and all(state.healthy for state in states)

    def _synced(self, client: redis.Redis) -> bool:
        """A replica's link to its primary is up (a primary is synced by definition)."""
        if "slave" not in self._myself(client).flags:
            return True
        return client.info("replication").get("master_link_status") == "up"

    def _all_listed(self, client: redis.Redis) -> bool:
        """CLUSTER SLOTS names every node of the cluster."""
        ranges = _command(client, "CLUSTER", "SLOTS")
        return len({bytes(node[2]) for row in ranges for node in row[2:]}) == len(self.running())

    def _wait(self, ready: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} within {timeout}s")
            time.sleep(0.05)

    def running(self) -> list[ClusterNodeServer]:
        return [node for node in self.nodes if node.process is not None]

    def states(self) -> list[NodeState]:
        """The nodes as the cluster sees them now (from the first running node)."""
        for node in self.running():
            try:
                return self._ask(node, self._states)
            except redis.exceptions.RedisError:
                continue  # paused or gone: ask another
        raise RuntimeError("no node of the cluster answers")

    def primaries(self) -> list[ClusterNodeServer]:
        """The nodes that serve slots now (a failover changes which)."""
        ports = {state.port for state in self.states() if state.role == PRIMARY and state.slots}
        return [node for node in self.nodes if node.port in ports]

    def replicas(self) -> list[ClusterNodeServer]:
        ports = {state.port for state in self.states() if "slave" in state.flags}
        return [node for node in self.nodes if node.port in ports]

    def node_for_slot(self, slot: int) -> ClusterNodeServer:
        for state in self.states():
            if state.role == PRIMARY and state.serves(slot):
                return next(node for node in self.nodes if node.port == state.port)
        raise LookupError(f"no primary serves slot {slot}")

    def ready(self) -> bool:
        """Every running node answers cluster_state:ok and sees every slot served, and every
        replica has synced with its primary."""
        try:
            return all(self._ask(node, self._node_ready) for node in self.running())
        except redis.exceptions.RedisError:
            return False

    def _node_ready(self, client: redis.Redis) -> bool:
        return (
            client.cluster("info").get("cluster_state") == "ok"
            and self._all_known(client)
            and self._synced(client)
            and self._all_listed(client)
        )

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        self._wait(self.ready, "the cluster did not become ready", timeout)

    def flush(self) -> None:
        """Empty every primary (FLUSHALL; the replicas follow)."""
        for node in self.primaries():
            self._ask(node, redis.Redis.flushall)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> RedisClusterServer:
        if self.running():
            return self
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
