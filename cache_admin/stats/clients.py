"""Connected clients of one node (``CLIENT LIST``), summarised: one row per client name and
address (host, without the port each connection has), with counts and idle times."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import redis

from cache_admin.stats.slowlog import text

# Groups shown, the largest first; the rest are counted.
GROUPS = 50


@dataclass(frozen=True)
class ClientGroup:
    name: str  # "" for clients that never set one
    address: str
    count: int
    idle_min: int  # seconds
    idle_max: int
    age_max: int
    commands: tuple[str, ...]  # their last commands, the most frequent first (at most 3)


@dataclass(frozen=True)
class ClientSummary:
    total: int
    groups: list[ClientGroup]
    groups_more: int  # groups left out beyond GROUPS


def _host(address: str) -> str:
    host, _, port = address.rpartition(":")
    return host if host and port.isdigit() else address


def _seconds(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def client_summary(client: redis.Redis, limit: int = GROUPS) -> ClientSummary:
    rows = client.client_list()
    grouped: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        key = (text(row.get("name", ""), 60), text(_host(row.get("addr", "")), 60))
        grouped.setdefault(key, []).append(row)
    groups = []
    for (name, address), members in grouped.items():
        idle = [_seconds(m.get("idle")) for m in members]
        commands = Counter(text(m.get("cmd", ""), 40) for m in members if m.get("cmd"))
        groups.append(
            ClientGroup(
                name=name,
                address=address,
                count=len(members),
                idle_min=min(idle),
                idle_max=max(idle),
                age_max=max(_seconds(m.get("age")) for m in members),
                commands=tuple(cmd for cmd, _n in commands.most_common(3)),
            )
        )
    groups.sort(key=lambda g: (-g.count, g.name, g.address))
    return ClientSummary(
        total=len(rows), groups=groups[:limit], groups_more=max(0, len(groups) - limit)
    )
