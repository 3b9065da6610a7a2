"""Keyspace analysis: keys, memory and TTLs per cache type and namespace, from a bounded
sample of every primary node, with recommendations (docs/console.md, "Analysis")."""

from __future__ import annotations

from cache_admin.analysis.jobs import (
    AlreadyRunning,
    Progress,
    cancel,
    join,
    lost,
    options,
    progress,
    prune,
    start,
)

__all__ = [
    "AlreadyRunning",
    "Progress",
    "cancel",
    "join",
    "lost",
    "options",
    "progress",
    "prune",
    "start",
]
