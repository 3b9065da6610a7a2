"""The console's one door to the toolkit.

Views never talk to Redis; they call toolkit functions through :func:`call`, which turns a
missing toolkit part or an unreachable server into :class:`Unavailable`, a message for
people, so a page degrades instead of failing with a 500.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from cache_admin import backend

logger = logging.getLogger("cache_admin.console")


class Unavailable(Exception):
    pass


def function(module: str, name: str) -> Any:
    try:
        found = importlib.import_module(f"cache_admin.{module}")
    except ImportError as exc:
        raise Unavailable(f"cache_admin.{module} is not available: {exc}") from exc
    target: Any = found
    for part in name.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise Unavailable(f"cache_admin.{module}.{name} is not available in this version")
    return target


def call(
    module: str,
    name: str,
    *args: Any,
    passthrough: tuple[type[BaseException], ...] = (),
    **kwargs: Any,
) -> Any:
    target = function(module, name)
    try:
        return target(*args, **kwargs)
    except passthrough:
        raise
    except backend.REDIS_ERRORS as exc:
        text = str(exc)
        raise Unavailable(
            text if "Redis" in text else f"Redis could not be reached: {text}"
        ) from exc
    except backend.NotRedisBackend as exc:
        raise Unavailable(f"The configured cache is not Redis: {exc}") from exc
    except Exception as exc:
        # A console page must stay up whatever a toolkit call does; the log keeps the trace.
        logger.exception("cache_admin.%s.%s failed", module, name)
        raise Unavailable(f"{module}.{name} failed: {exc}") from exc
