from __future__ import annotations

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Shop"

    def ready(self) -> None:
        # Signal-based invalidation and warmers are declared once the models exist.
        from shop import invalidation, warmers  # noqa: F401
