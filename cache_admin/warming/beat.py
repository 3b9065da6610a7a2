"""Build ``CELERY_BEAT_SCHEDULE`` entries for warming (the spec's hourly warm).

In settings (the registry is not loaded yet, so name the warmers or warm them all)::

    from cache_admin.warming import warm_schedule
    CELERY_BEAT_SCHEDULE = {**warm_schedule()}                    # all, every hour
    CELERY_BEAT_SCHEDULE = {**warm_schedule(warmers=["featured", "categories"])}

After ``django.setup()`` (e.g. in the project's celery.py), ``per_warmer=True`` makes one
entry per registered warmer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cache_admin.warming.task_names import WARM_ALL_TASK, WARM_TASK

ALL_ENTRY = "warm-cache-every-hour"
TRIGGER = "celery beat"


def hourly() -> Any:
    from celery.schedules import crontab

    return crontab(minute=0)


def warm_schedule(
    schedule: Any = None,
    *,
    warmers: Iterable[str] | Mapping[str, Any] | None = None,
    per_warmer: bool = False,
    entry_prefix: str = "warm-cache-",
) -> dict[str, dict[str, Any]]:
    """Beat entries: one ``cache_admin.warm_all`` (default), or one ``cache_admin.warm`` per
    warmer; ``warmers`` may map names to their own schedules.

    ``schedule`` is anything beat accepts (a crontab, seconds, a timedelta); default hourly.
    """
    schedule = hourly() if schedule is None else schedule
    if warmers is None and not per_warmer:
        return {
            ALL_ENTRY: {
                "task": WARM_ALL_TASK,
                "schedule": schedule,
                "kwargs": {"trigger": TRIGGER},
            }
        }
    if warmers is None:
        from cache_admin.warming.registry import all_warmers

        chosen: dict[str, Any] = {w.name: schedule for w in all_warmers()}
    elif isinstance(warmers, Mapping):
        chosen = dict(warmers)
    else:
        chosen = dict.fromkeys(warmers, schedule)
    _check_names(chosen)
    return {
        f"{entry_prefix}{name}": {
            "task": WARM_TASK,
            "schedule": own,
            "args": (name,),
            "kwargs": {"trigger": TRIGGER},
        }
        for name, own in chosen.items()
    }


def _check_names(chosen: Mapping[str, Any]) -> None:
    from django.apps import apps

    from cache_admin.warming.registry import NAME_RE, get_warmer

    for name in chosen:
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ValueError(f"{name!r} is not a warmer name")
        if apps.ready:
            get_warmer(name)  # UnknownWarmer names the registered ones
