"""Settings for cache_admin, read from ``settings.CACHE_ADMIN`` on every access.

Nothing is read at import time, so ``override_settings`` works everywhere.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # The cache alias (a Redis-backed cache) the toolkit and console work on.
    "CACHE_ALIAS": "default",
    # Cache types: {name: {"label": str, "prefix": str, "ttl": int}}.
    "TYPES": {},
    # TTL used when a key matches no type and no timeout is given (None: the cache's TIMEOUT).
    "DEFAULT_TTL": None,
    # Jitter against miss storms: a TTL gets up to this fraction on top (never below base).
    "JITTER": 0.2,
    # How often each process checks whether TTL overrides changed (seconds).
    "POLICY_POLL_INTERVAL": 0.5,
    # A slow re-read of the overrides from the database, whatever Redis says (seconds).
    "POLICY_RELOAD_INTERVAL": 60.0,
    # Read-through fills: how long a fill may hold its lease (seconds).
    "LEASE_TIMEOUT": 30.0,
    # How long a reader waits for another process's fill before computing itself (seconds).
    "LEASE_WAIT": 0.2,
    # Circuit breaker: consecutive failures that open it, and how long it stays open.
    "BREAKER_THRESHOLD": 3,
    "BREAKER_COOLDOWN": 5.0,
    # Hit/miss counters are flushed to Redis at most this often (seconds).
    "STATS_FLUSH_INTERVAL": 1.0,
    # The package's own keys live under this logical prefix.
    "NAMESPACE": "cache_admin:",
    # Prefix invalidation: SCAN COUNT and UNLINK batch size.
    "SCAN_COUNT": 1000,
    # Console: SCAN budget per request (keys examined), page size, polling interval (ms).
    "CONSOLE_SCAN_BUDGET": 20000,
    "CONSOLE_PAGE_SIZE": 100,
    "CONSOLE_REFRESH_MS": 5000,
    # Console: the admin site the console installs itself into (dotted path), or None.
    "ADMIN_SITE": "django.contrib.admin.site",
    # Application hit/miss logging on logger "cache" at DEBUG: fraction of calls logged.
    "LOG_SAMPLE_RATE": 0.01,
    # Metrics view: a bearer token, or None; staff login is accepted when METRICS_ALLOW_STAFF.
    "METRICS_TOKEN": None,
    "METRICS_ALLOW_STAFF": True,
}


class Settings:
    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        user = getattr(settings, "CACHE_ADMIN", {}) or {}
        return user.get(name, DEFAULTS[name])

    @property
    def user_settings(self) -> dict[str, Any]:
        return dict(getattr(settings, "CACHE_ADMIN", {}) or {})


conf = Settings()
