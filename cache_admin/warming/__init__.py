"""Cache warming: a registry of warmers, an inline runner, Celery tasks, a beat helper.

Importing this package loads no models (``run_inline``, ``enqueue`` and
``CeleryUnavailable`` are imported on first use), so ``from cache_admin.warming import
warm_schedule`` works in a settings module.
"""

from __future__ import annotations

from typing import Any

from cache_admin.guard import RedisUnavailable
from cache_admin.warming.beat import warm_schedule
from cache_admin.warming.progress import Progress
from cache_admin.warming.registry import (
    UnknownWarmer,
    Warmer,
    all_warmers,
    get_warmer,
    register_warmer,
    unregister_warmer,
)

__all__ = [
    "CeleryUnavailable",
    "Progress",
    "RedisUnavailable",
    "UnknownWarmer",
    "Warmer",
    "all_warmers",
    "enqueue",
    "get_warmer",
    "register_warmer",
    "run_inline",
    "unregister_warmer",
    "warm_schedule",
]


def __getattr__(name: str) -> Any:
    if name == "run_inline":
        from cache_admin.warming.runner import run_inline

        return run_inline
    if name in ("enqueue", "CeleryUnavailable"):
        from cache_admin.warming import dispatch

        return getattr(dispatch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
