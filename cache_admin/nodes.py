"""The servers behind a cache's client: the one server, or every node of a Redis Cluster.

A cluster client routes a key's command by its hash slot, but sends SCAN, INFO, DBSIZE,
SLOWLOG and the like to one node unless told otherwise: the package runs those on each
node's own client and merges the answers (P4, P5). This module finds those clients and
says which node serves a key. ``backend`` exposes it for a cache; nothing else here knows
about Django.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import redis
from redis.crc import key_slot

from cache_admin import client_errors

try:  # django-valkey's client library: the ``cluster`` extra
    from valkey.cluster import ValkeyCluster
except ImportError:  # pragma: no cover - installed with the test extra
    ValkeyCluster = None  # type: ignore[assignment,misc]

__all__ = ["PRIMARY", "REPLICA", "SLOTS", "Node", "NodeState", "is_cluster", "keyslot"]

SLOTS = 16384
PRIMARY = "primary"
REPLICA = "replica"

_CLUSTER_CLASSES: tuple[type, ...] = tuple(
    cls for cls in (redis.cluster.RedisCluster, ValkeyCluster) if cls is not None
)


# client class -> whether it is a cluster client. The cluster classes are typing Protocols:
# isinstance() against them costs a microsecond, and the hit path of a list asks.
_clustered: dict[type, bool] = {}


def is_cluster(client: Any) -> bool:
    kind = type(client)
    found = _clustered.get(kind)
    if found is None:
        found = _clustered[kind] = isinstance(client, _CLUSTER_CLASSES)
    return found


def keyslot(key: str | bytes) -> int:
    """The hash slot of a stored key (its ``{hash tag}`` when it has one)."""
    return int(key_slot(key if isinstance(key, bytes) else key.encode()))


def by_slot(keys: list[Any]) -> list[list[Any]]:
    """Stored keys grouped by hash slot, in first-seen order: a multi-key command on a
    cluster node must keep to one slot (else CROSSSLOT)."""
    groups: dict[int, list[Any]] = {}
    for key in keys:
        groups.setdefault(keyslot(key), []).append(key)
    return list(groups.values())


def queue_unlinks(pipe: Any, keys: list[Any], batch: int, clustered: bool) -> None:
    """Queue UNLINKs of stored keys on a pipeline: ``batch`` keys at most each (P4), and on
    a cluster each within one hash slot. Sent as plain commands: a cluster pipeline's
    ``unlink()`` takes one key."""
    for group in by_slot(keys) if clustered else [keys]:
        for start in range(0, len(group), batch):
            pipe.execute_command("UNLINK", *group[start : start + batch])


@dataclass(frozen=True)
class NodeState:
    """A node as the cluster sees it: one line of CLUSTER NODES."""

    node_id: str
    host: str
    port: int
    flags: frozenset[str]
    primary_id: str | None  # a replica's primary
    connected: bool  # the cluster bus link to it
    slots: tuple[tuple[int, int], ...]  # (first, last) ranges it serves

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def role(self) -> str:
        return PRIMARY if "master" in self.flags else REPLICA

    @property
    def healthy(self) -> bool:
        return self.connected and not self.flags & {"fail", "fail?", "handshake", "noaddr"}

    def serves(self, slot: int) -> bool:
        return any(first <= slot <= last for first, last in self.slots)

    @classmethod
    def parse(cls, line: str) -> NodeState:
        node_id, address, flags, primary, _ping, _pong, _epoch, link, *slots = line.split()
        ranges = []
        for slot in slots:
            if slot.startswith("["):  # a slot being migrated or imported
                continue
            first, _, last = slot.partition("-")
            ranges.append((int(first), int(last or first)))
        host_port = address.split("@")[0]
        host, _, port = host_port.rpartition(":")
        return cls(
            node_id,
            host,
            int(port),
            frozenset(flags.split(",")),
            None if primary == "-" else primary,
            link == "connected",
            tuple(ranges),
        )

    @classmethod
    def parse_all(cls, reply: bytes | str) -> list[NodeState]:
        text = reply.decode() if isinstance(reply, bytes) else str(reply)
        return [cls.parse(line) for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class Node:
    """One server with a client of its own (None for a cluster node the client does not
    know: a failed one)."""

    name: str  # host:port
    role: str  # PRIMARY or REPLICA
    client: Any
    state: NodeState | None = None  # None for a single server


def primary_clients(client: Any) -> list[Any]:
    """One client per primary: the client itself for a single server."""
    if not is_cluster(client):
        return [client]
    return [_node_client(client, node) for node in client.get_primaries()]


def refresh_topology(client: Any) -> None:
    """Read a cluster's slot map again from the nodes that answer. The client does so itself
    when one of its commands meets a failed node, but while the breaker is open it sends
    none: after a failover it would go on naming the failed primary."""
    if is_cluster(client):
        client.nodes_manager.initialize()


def subscriber(client: Any) -> Any:
    """A pub/sub object; on a cluster, on a random primary (a PUBLISH reaches every node)."""
    if not is_cluster(client):
        return client.pubsub()
    return client.pubsub(node=random.choice(client.get_primaries()))


def nodes(client: Any) -> list[Node]:
    """Every node, primaries first, each with its role and, on a cluster, what CLUSTER
    NODES says of it (slots, flags, link). Raises ``REDIS_ERRORS`` when no primary answers."""
    if not is_cluster(client):
        return [Node(node_name(client), PRIMARY, client)]
    known = {node.name: node for node in client.get_nodes()}
    states = cluster_states(client)
    found = [
        Node(state.name, state.role, _known_client(client, known, state.name), state)
        for state in states
        if "noaddr" not in state.flags
    ]
    return sorted(found, key=lambda node: (node.role != PRIMARY, node.name))


def cluster_states(client: Any) -> list[NodeState]:
    """CLUSTER NODES from the first primary that answers."""
    failure: BaseException | None = None
    for node_client in primary_clients(client):
        try:
            return NodeState.parse_all(node_client.execute_command("CLUSTER", "NODES"))
        except client_errors.REDIS_ERRORS as exc:
            failure = exc
    assert failure is not None  # a cluster client always knows a primary
    raise failure


def _known_client(client: Any, known: dict[str, Any], name: str) -> Any:
    node = known.get(name)
    return None if node is None else _node_client(client, node)


def _node_client(client: Any, node: Any) -> Any:
    # valkey-py makes a node's client with the topology; redis-py may make it on first use.
    found = getattr(node, "valkey_connection", None) or node.redis_connection
    if found is None and hasattr(client, "get_redis_connection"):
        return client.get_redis_connection(node)
    return found


def node_name(client: Any) -> str:
    """``host:port`` (or the socket path) of the server a one-server client talks to."""
    kwargs: dict[str, Any] = getattr(client.connection_pool, "connection_kwargs", {})
    if kwargs.get("path"):
        return str(kwargs["path"])
    if kwargs.get("host"):
        return f"{kwargs['host']}:{kwargs.get('port', 6379)}"
    # A Sentinel pool finds its primary per connection: the service names it.
    return str(getattr(client.connection_pool, "service_name", "") or "primary")


def node_for_key(client: Any, key: str | bytes) -> Node:
    """The primary that serves a stored key, from the client's own slot map (no round trip)."""
    if not is_cluster(client):
        return Node(node_name(client), PRIMARY, client)
    node = client.get_node_from_key(key)
    return Node(str(node.name), PRIMARY, _node_client(client, node))
