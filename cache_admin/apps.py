from __future__ import annotations

import importlib.util

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CacheAdminConfig(AppConfig):
    name = "cache_admin"
    verbose_name = _("Cache")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cache_admin import checks, signals  # noqa: F401  (registers checks and receivers)
        from cache_admin.backends import checks as timeout_checks  # noqa: F401

        # The warm tasks are shared tasks: importing them here registers them with the
        # project's Celery app in web processes and workers alike (autodiscover_tasks looks
        # for cache_admin.tasks only).
        if importlib.util.find_spec("celery") is not None:
            from cache_admin.warming import tasks  # noqa: F401

        # The dashboard's history fills from every process that records cache statistics.
        from cache_admin import counter_flush
        from cache_admin.stats.timeline import sample_in_background

        counter_flush.on_flush(sample_in_background)

        # The admin console: URLs and "Cache" index entries on the configured admin site.
        from cache_admin.console.site import install_configured

        install_configured()
