"""Prometheus metrics: per-type cache counters, warm runs, Redis server figures.

Mount the view at a URL of your choice::

    from cache_admin.metrics import metrics_view
    urlpatterns += [path("metrics/", metrics_view)]
"""

from __future__ import annotations

from cache_admin.metrics.collector import CacheAdminCollector, metrics_registry
from cache_admin.metrics.view import metrics_view

__all__ = ["CacheAdminCollector", "metrics_registry", "metrics_view"]
