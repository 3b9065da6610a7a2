"""Cache warming: a registry of warmers, an inline runner, Celery tasks, a beat helper."""

from __future__ import annotations

from cache_admin.warming.progress import Progress, RedisUnavailable
from cache_admin.warming.registry import (
    UnknownWarmer,
    Warmer,
    all_warmers,
    get_warmer,
    register_warmer,
    unregister_warmer,
)
from cache_admin.warming.runner import run_inline

__all__ = [
    "Progress",
    "RedisUnavailable",
    "UnknownWarmer",
    "Warmer",
    "all_warmers",
    "get_warmer",
    "register_warmer",
    "run_inline",
    "unregister_warmer",
]
