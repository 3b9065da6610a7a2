"""Monitoring figures: Redis INFO, hit-rate history, per-type rows (spec: Monitoring).

Hit rates are fractions from 0 to 1 (``*_percent`` properties give percentages).
"""

from __future__ import annotations

from cache_admin.stats.cluster import ClusterFigures, NodeRow, cluster_figures
from cache_admin.stats.server import ServerStatus, hit_rate_level, server_status
from cache_admin.stats.timeline import HistoryPoint, history, sample
from cache_admin.stats.type_rows import KeyCounts, TypeRow, key_counts, type_rows

__all__ = [
    "ClusterFigures",
    "HistoryPoint",
    "KeyCounts",
    "NodeRow",
    "ServerStatus",
    "TypeRow",
    "cluster_figures",
    "history",
    "hit_rate_level",
    "key_counts",
    "sample",
    "server_status",
    "type_rows",
]
