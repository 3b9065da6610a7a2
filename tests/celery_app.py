"""The suite's Celery app: broker on db 1 and results on db 2 of the test Redis.

Never eager: tests that need a worker start a real one (``celery_worker`` fixture).
"""

from __future__ import annotations

from celery import Celery
from django.conf import settings

app = Celery("cache_admin_tests")
app.conf.update(
    broker_url=f"{settings.TEST_REDIS_URL}/1",
    result_backend=f"{settings.TEST_REDIS_URL}/2",
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_always_eager=False,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=False,
    result_expires=600,
)
