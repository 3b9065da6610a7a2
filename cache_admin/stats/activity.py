"""What the server page shows, per primary node: the slow log, the clients, the top
commands and latency events. Every part is bounded whatever the server holds.

A command the server refuses (disabled or renamed on a managed Redis) leaves its part
empty with the server's answer; an unreachable server raises RedisUnavailable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import redis

from cache_admin import backend
from cache_admin.guard import guarded
from cache_admin.nodes import node_name
from cache_admin.stats.clients import ClientSummary, client_summary
from cache_admin.stats.commands import (
    LatencyEvent,
    TopCommands,
    latency_events,
    latency_threshold,
    top_commands,
)
from cache_admin.stats.slowlog import SlowEntry, slow_log, text

T = TypeVar("T")


@dataclass(frozen=True)
class NodeActivity:
    node: str
    slow_log: list[SlowEntry] = field(default_factory=list)
    slow_log_length: int = 0
    clients: ClientSummary | None = None
    commands: TopCommands | None = None
    latency: list[LatencyEvent] = field(default_factory=list)
    latency_threshold: int | None = None  # ms; 0: monitoring off; None: unknown
    # Part -> the server's answer when it refused the command.
    refused: dict[str, str] = field(default_factory=dict)


def _node(client: redis.Redis) -> NodeActivity:
    refused: dict[str, str] = {}

    def part(name: str, read: Callable[[], T], empty: T) -> T:
        try:
            return read()
        except backend.RESPONSE_ERRORS as exc:
            refused[name] = text(str(exc), 200)
            return empty

    no_entries: tuple[list[SlowEntry], int] = ([], 0)
    entries, length = part("slow_log", lambda: slow_log(client), no_entries)
    return NodeActivity(
        node=node_name(client),
        slow_log=entries,
        slow_log_length=length,
        clients=part("clients", lambda: client_summary(client), None),
        commands=part("commands", lambda: top_commands(client), None),
        latency=part("latency", lambda: latency_events(client), []),
        latency_threshold=latency_threshold(client),
        refused=refused,
    )


def server_activity() -> list[NodeActivity]:
    """One entry per primary node; raises RedisUnavailable."""
    return guarded(lambda: [_node(client) for client in backend.primary_clients()])
