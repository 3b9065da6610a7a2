from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CacheAdminConfig(AppConfig):
    name = "cache_admin"
    verbose_name = _("Cache")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cache_admin import checks, signals  # noqa: F401  (registers checks and receivers)
