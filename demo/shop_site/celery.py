"""The demo's Celery app: ``celery -A shop_site worker`` and ``celery -A shop_site beat``."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_site.settings")

app = Celery("shop_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
# The package's warm tasks (cache_admin.warm, cache_admin.warm_all) and the apps' own.
app.autodiscover_tasks()
app.autodiscover_tasks(["cache_admin.warming"])


@app.on_after_finalize.connect
def add_warm_schedule(sender: Celery, **kwargs: Any) -> None:
    # After Django is set up (the package's models load with it): the spec's
    # "warm-cache-every-hour", every registered warmer at minute 0.
    from cache_admin.warming import warm_schedule

    sender.conf.beat_schedule = {**warm_schedule(), **(sender.conf.beat_schedule or {})}
