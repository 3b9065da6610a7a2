"""A Redis Cluster node by node: what the dashboard's node table shows, and the cluster's
figures summed over the primaries that answered.

One INFO per node and one CLUSTER NODES per refresh. A node that does not answer is a row
that says so, not an error: the rest of the cluster still serves the site (and a replica
may be about to take the dead primary's slots).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cache_admin import backend
from cache_admin.guard import guarded
from cache_admin.nodes import PRIMARY
from cache_admin.stats.server import ServerStatus, merge

__all__ = ["ClusterFigures", "NodeRow", "cluster_figures"]


@dataclass(frozen=True)
class NodeRow:
    name: str  # host:port
    role: str  # PRIMARY or REPLICA, as the cluster sees it now
    slots: int  # how many hash slots it serves
    link: str  # the cluster bus: "connected", "disconnected", "suspected" or "failed"
    primary: str | None = None  # a replica's primary (host:port)
    error: str | None = None  # why its INFO could not be read
    used_memory: int | None = None
    ops_per_sec: int | None = None
    connected_clients: int | None = None
    replication_link: str | None = None  # a replica's link to its primary: "up", "down"
    lag_seconds: int | None = None  # since a replica last heard from its primary
    lag_bytes: int | None = None  # replication stream a replica has not applied yet

    @property
    def is_primary(self) -> bool:
        return self.role == PRIMARY

    @property
    def answered(self) -> bool:
        return self.error is None

    @property
    def down(self) -> bool:
        return not self.answered or self.link in ("suspected", "failed")


@dataclass(frozen=True)
class ClusterFigures:
    rows: tuple[NodeRow, ...]
    status: ServerStatus  # summed over the primaries that answered

    @property
    def down(self) -> list[NodeRow]:
        return [row for row in self.rows if row.down]


def cluster_figures() -> ClusterFigures | None:
    """The cluster's nodes and figures; None when the cache is one server. Raises
    ``RedisUnavailable`` when no node answers."""
    return guarded(_read)


def _read() -> ClusterFigures | None:
    if not backend.is_cluster(backend.client()):
        return None
    nodes = backend.nodes()
    infos: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for node in nodes:
        if node.client is None:  # a failed node the client dropped from its slot map
            errors[node.name] = "not in the client's topology"
            continue
        try:
            infos[node.name] = dict(node.client.info())
        except (*backend.REDIS_ERRORS, *backend.ERROR_REPLIES) as exc:
            errors[node.name] = str(exc) or type(exc).__name__
    names = {node.state.node_id: node.name for node in nodes if node.state is not None}
    rows = tuple(_row(node, infos, errors, names) for node in nodes)
    answered = [infos[row.name] for row in rows if row.is_primary and row.answered]
    if answered:
        status = merge(answered)
    else:
        status = ServerStatus(connected=False, error="No primary node answers.")
    return ClusterFigures(rows, status)


def _row(
    node: backend.Node,
    infos: dict[str, dict[str, Any]],
    errors: dict[str, str],
    names: dict[str, str],
) -> NodeRow:
    state = node.state
    assert state is not None  # a cluster's nodes come from CLUSTER NODES
    primary = names.get(state.primary_id or "")
    common: dict[str, Any] = {
        "name": node.name,
        "role": node.role,
        "slots": sum(last - first + 1 for first, last in state.slots),
        "link": _link(state.flags, state.connected),
        "primary": primary,
    }
    info = infos.get(node.name)
    if info is None:
        return NodeRow(**common, error=errors.get(node.name, "no answer"))
    sent = _int(infos.get(primary or "", {}).get("master_repl_offset"))
    applied = _int(info.get("slave_repl_offset"))
    lag_bytes = None if sent is None or applied is None else max(0, sent - applied)
    return NodeRow(
        **common,
        used_memory=_int(info.get("used_memory")),
        ops_per_sec=_int(info.get("instantaneous_ops_per_sec")),
        connected_clients=_int(info.get("connected_clients")),
        replication_link=info.get("master_link_status"),
        lag_seconds=_int(info.get("master_last_io_seconds_ago")),
        lag_bytes=lag_bytes,
    )


def _link(flags: frozenset[str], connected: bool) -> str:
    # "fail?": one node has lost it for longer than the node timeout; "fail": a majority of
    # primaries agreed, and its replica is promoted.
    if "fail" in flags:
        return "failed"
    if "fail?" in flags:
        return "suspected"
    return "connected" if connected or "myself" in flags else "disconnected"


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
