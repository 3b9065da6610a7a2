from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from celery.schedules import crontab

from cache_admin.warming import register_warmer
from cache_admin.warming.beat import warm_schedule
from cache_admin.warming.registry import UnknownWarmer
from cache_admin.warming.tasks import warm, warm_all


def test_default_is_the_spec_hourly_warm_of_everything() -> None:
    schedule = warm_schedule()
    assert list(schedule) == ["warm-cache-every-hour"]
    entry = schedule["warm-cache-every-hour"]
    assert entry["task"] == "cache_admin.warm_all" == warm_all.name
    assert entry["schedule"] == crontab(minute=0)
    assert entry["kwargs"] == {"trigger": "celery beat"}


def test_named_warmers_get_one_entry_each(warmer_registry: dict[str, Any]) -> None:
    register_warmer("featured", lambda p: 0)
    register_warmer("categories", lambda p: 0)
    schedule = warm_schedule(timedelta(minutes=30), warmers=["featured", "categories"])
    assert schedule == {
        "warm-cache-featured": {
            "task": "cache_admin.warm",
            "schedule": timedelta(minutes=30),
            "args": ("featured",),
            "kwargs": {"trigger": "celery beat"},
        },
        "warm-cache-categories": {
            "task": "cache_admin.warm",
            "schedule": timedelta(minutes=30),
            "args": ("categories",),
            "kwargs": {"trigger": "celery beat"},
        },
    }
    assert schedule["warm-cache-featured"]["task"] == warm.name


def test_per_warmer_schedules(warmer_registry: dict[str, Any]) -> None:
    register_warmer("featured", lambda p: 0)
    register_warmer("products", lambda p: 0)
    schedule = warm_schedule(warmers={"featured": 600, "products": crontab(minute=15)})
    assert schedule["warm-cache-featured"]["schedule"] == 600
    assert schedule["warm-cache-products"]["schedule"] == crontab(minute=15)


def test_per_warmer_from_the_registry(warmer_registry: dict[str, Any]) -> None:
    for name in ("products", "categories", "featured"):
        register_warmer(name, lambda p: 0)
    schedule = warm_schedule(per_warmer=True, entry_prefix="shop-")
    assert list(schedule) == ["shop-products", "shop-categories", "shop-featured"]
    assert all(e["schedule"] == crontab(minute=0) for e in schedule.values())


def test_unknown_and_malformed_names_are_refused(warmer_registry: dict[str, Any]) -> None:
    register_warmer("products", lambda p: 0)
    with pytest.raises(UnknownWarmer, match="Registered warmers: products"):
        warm_schedule(warmers=["prodcts"])
    with pytest.raises(ValueError, match="is not a warmer name"):
        warm_schedule(warmers=["Not A Name"])


def test_the_schedule_is_accepted_by_celery_beat(warmer_registry: dict[str, Any]) -> None:
    from celery import Celery
    from celery.beat import Scheduler

    register_warmer("featured", lambda p: 0)
    app = Celery("beat-check", broker="memory://")
    app.conf.beat_schedule = {**warm_schedule(), **warm_schedule(warmers=["featured"])}
    scheduler = Scheduler(app, lazy=True)
    scheduler.setup_schedule()
    entries = scheduler.schedule
    assert entries["warm-cache-every-hour"].task == "cache_admin.warm_all"
    assert entries["warm-cache-featured"].args == ("featured",)
    due, _ = entries["warm-cache-every-hour"].is_due()
    assert isinstance(due, bool)


def test_the_helper_imports_in_a_settings_module_before_django_is_set_up() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "from cache_admin.warming.beat import warm_schedule\n"
        "from cache_admin.warming import register_warmer\n"
        "print(sorted(warm_schedule(warmers=['featured'])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['warm-cache-featured']"
